// tsbox-runc kill: send a signal to a container's init, or to all of its processes.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { killContainer } from "../../container/oci/lifecycle.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "all", short: "a", type: "bool", help: "signal every process of the container" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime kill [--all] ID [SIGNAL]", "Signal a container (default TERM).", [
  "tsbox-runc kill box KILL",
  "tsbox-runc kill --all box 9",
], FLAGS);

/** Parses a signal as runc takes it: "KILL", "SIGKILL" or "9". */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  }
  const names: Record<string, number> = {
    HUP: 1,
    INT: 2,
    QUIT: 3,
    ILL: 4,
    TRAP: 5,
    ABRT: 6,
    IOT: 6,
    BUS: 7,
    FPE: 8,
    KILL: 9,
    USR1: 10,
    SEGV: 11,
    USR2: 12,
    PIPE: 13,
    ALRM: 14,
    TERM: 15,
    STKFLT: 16,
    CHLD: 17,
    CONT: 18,
    STOP: 19,
    TSTP: 20,
    TTIN: 21,
    TTOU: 22,
    URG: 23,
    XCPU: 24,
    XFSZ: 25,
    VTALRM: 26,
    PROF: 27,
    WINCH: 28,
    IO: 29,
    PWR: 30,
    SYS: 31,
  };
  const up = s.toUpperCase().replace(/^SIG/, "");
  const rt = /^RTMIN(\+(\d+))?$/.exec(up) ?? /^RTMAX(-(\d+))?$/.exec(up);
  if (rt) return up.startsWith("RTMIN") ? 34 + Number(rt[2] ?? 0) : 64 - Number(rt[2] ?? 0);
  const n = names[up];
  if (n === undefined) throw new UsageError(`unknown signal ${JSON.stringify(s)}`);
  return n;
}

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
  killContainer(ociContext(g), positionals[0]!, signal, bool(flags, "all"));
  return Promise.resolve(0);
}
