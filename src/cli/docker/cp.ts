// tsbox cp: copy files between a container and the host.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];
const HELP = formatHelp(
  "cp CONTAINER:SRC_PATH DEST_PATH\n       tsbox cp SRC_PATH CONTAINER:DEST_PATH",
  "Copy files or directories between a container (running or stopped) and the host.\nPaths inside the container are resolved within its root: its symlinks cannot lead outside.",
  ["tsbox cp web:/etc/hostname ./hostname", "tsbox cp ./site web:/var/www"],
  FLAGS,
);

/** Entry point of `tsbox cp`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("cp", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(`"tsbox cp" requires exactly 2 arguments.\nSee 'tsbox cp --help'.`);
  }
  const { copy } = await import("../../container/cp.ts");
  copy(positionals[0]!, positionals[1]!);
  return 0;
}
