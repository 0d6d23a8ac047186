// tsbox-runc ps: the container's processes (containerd reads --format json:
// a JSON array of host pids). The table is read from /proc, not from ps(1).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { containerPids, containerProcesses } from "../../container/oci/ops.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "format", short: "f", type: "string", value: "table|json", help: "output format" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime ps [--format json] ID", "List a container's processes.", [
  "tsbox-runc ps --format json box",
], FLAGS);

/** Entry point of `tsbox-runc ps`. */
export function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("ps", args, FLAGS);
  if (bool(flags, "help")) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  if (!positionals.length) throw new UsageError(`"ps" requires the container id`);
  const ctx = ociContext(g);
  if (str(flags, "format") === "json") {
    console.log(JSON.stringify(containerPids(ctx, positionals[0]!)));
    return Promise.resolve(0);
  }
  console.log("PID     CMD");
  for (const p of containerProcesses(ctx, positionals[0]!)) {
    console.log(`${String(p.pid).padEnd(8)}${p.cmd}`);
  }
  return Promise.resolve(0);
}
