// tsbox-runc list: the containers under --root.

import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { UsageError } from "../../errors.ts";
import { listStates } from "../../container/oci/lifecycle.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "format", short: "f", type: "string", value: "table|json", help: "output format" },
  { name: "quiet", short: "q", type: "bool", help: "ids only" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime list [--format json] [-q]", "List containers.", [
  "tsbox-runc list",
], FLAGS);

/** Entry point of `tsbox-runc list`. */
export function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("list", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  if (positionals.length) throw new UsageError(`"list" takes no arguments`);
  const states = listStates(ociContext(g));
  if (bool(flags, "quiet")) {
    for (const s of states) console.log(s.id);
  } else if (str(flags, "format") === "json") {
    console.log(JSON.stringify(states));
  } else {
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
    for (const s of states) {
      rows.push([s.id, s.pid, s.status, s.bundle, s.created, "root"].map(String));
    }
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)) + 3);
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join("").trimEnd());
  }
  return Promise.resolve(0);
}
