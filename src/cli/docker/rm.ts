// tsbox rm: remove containers.

import { ErrorList, formatError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [
  {
    name: "force",
    short: "f",
    type: "bool",
    help: "Force the removal of a running container (uses SIGKILL)",
  },
  {
    name: "volumes",
    short: "v",
    type: "bool",
    help: "Remove anonymous volumes associated with the container",
  },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers.", [
  "tsbox rm web",
  "tsbox rm -f $(tsbox ps -aq)",
], FLAGS);

/** Entry point of `tsbox rm`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("rm", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (!positionals.length) {
    throw new UsageError(`"tsbox rm" requires at least 1 argument.\nSee 'tsbox rm --help'.`);
  }
  const { removeContainer } = await import("../../container/lifecycle.ts");
  const errs = new ErrorList();
  for (const ref of positionals) {
    await errs.tryAsync(`remove ${ref}`, async () => {
      await removeContainer(ref, bool(flags, "force"), bool(flags, "volumes"));
      console.log(ref);
    });
  }
  for (const e of errs.errors) console.error(`tsbox: ${formatError(e)}`);
  return errs.errors.length ? 1 : 0;
}
