// tsbox-runc ps: the container's processes (containerd reads --format json:
// a JSON array of host pids). The table is read from /proc, not from ps(1).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { load } from "./engine.ts";
import { pids } from "./engine_ops.ts";
import type { GlobalOptions } from "./log.ts";
import { checkId } from "./store.ts";

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
  const list = pids(g, load(g, checkId(positionals[0])));
  if (str(flags, "format") === "json") {
    console.log(JSON.stringify(list));
    return Promise.resolve(0);
  }
  console.log("PID     CMD");
  for (const pid of list) {
    let cmd = "";
    try {
      cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
    } catch { /* gone */ }
    console.log(`${String(pid).padEnd(8)}${cmd}`);
  }
  return Promise.resolve(0);
}
