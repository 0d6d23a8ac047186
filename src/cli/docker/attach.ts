// tsbox attach: follow a detached container's output until it stops.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [
  {
    name: "sig-proxy",
    type: "bool",
    help: "Proxy received signals to the container (default true)",
  },
  { name: "no-stdin", type: "bool", help: "Do not attach STDIN (detached containers have none)" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "attach [OPTIONS] CONTAINER",
  "Attach to a running container's output: its new stdout and stderr stream here, our signals\ngo to it, and tsbox exits with its exit code when it stops.",
  ["tsbox attach web"],
  FLAGS,
);

/** Entry point of `tsbox attach`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("attach", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox attach" requires exactly 1 argument.\nSee 'tsbox attach --help'.`);
  }
  const { attachContainer } = await import("../../container/attach.ts");
  return await attachContainer(positionals[0]!, flags["sig-proxy"] !== false);
}
