// tsbox-runc start: let a created container's init execve its process.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { startContainer } from "../../container/oci/lifecycle.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [{ name: "help", short: "h", type: "bool", help: "show help" }];
const HELP = formatHelp("runtime start ID", "Start a created container.", [
  "tsbox-runc start box",
], FLAGS);

/** Entry point of `tsbox-runc start`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("start", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`"start" requires exactly 1 argument`);
  await startContainer(ociContext(g), positionals[0]!);
  return 0;
}
