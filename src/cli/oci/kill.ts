// tsbox-runc kill: send a signal to a container's init, or to all of its processes.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { killContainer, load, parseSignal } from "./engine.ts";
import type { GlobalOptions } from "./log.ts";
import { checkId } from "./store.ts";

const FLAGS: FlagDef[] = [
  { name: "all", short: "a", type: "bool", help: "signal every process of the container" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime kill [--all] ID [SIGNAL]", "Signal a container (default TERM).", [
  "tsbox-runc kill box KILL",
  "tsbox-runc kill --all box 9",
], FLAGS);

/** Entry point of `tsbox-runc kill`. */
export function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("kill", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(`"kill" requires 1 or 2 arguments (ID [SIGNAL])`);
  }
  const signal = parseSignal(positionals[1] ?? "TERM");
  killContainer(g, load(g, checkId(positionals[0])), signal, bool(flags, "all"));
  return Promise.resolve(0);
}
