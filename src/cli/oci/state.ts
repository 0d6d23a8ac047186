// tsbox-runc state: the runtime-spec state JSON of a container (runtime.md "State").

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { containerState } from "../../container/oci/lifecycle.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [{ name: "help", short: "h", type: "bool", help: "show help" }];
const HELP = formatHelp("runtime state ID", "Print the state of a container as JSON.", [
  "tsbox-runc state box",
], FLAGS);

/** Entry point of `tsbox-runc state`. */
export function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("state", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  if (positionals.length !== 1) throw new UsageError(`"state" requires exactly 1 argument`);
  console.log(JSON.stringify(containerState(ociContext(g), positionals[0]!), null, "  "));
  return Promise.resolve(0);
}
