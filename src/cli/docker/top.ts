// tsbox top: the processes of a container, seen from the host.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { table } from "../human.ts";

const FLAGS: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];
const HELP = formatHelp(
  "top CONTAINER",
  "Display the running processes of a container (host pids).",
  ["tsbox top web"],
  FLAGS,
);

/** Entry point of `tsbox top`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("top", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox top" requires exactly 1 argument.\nSee 'tsbox top --help'.`);
  }
  const { findContainer } = await import("../../state/containers.ts");
  const { reconcile } = await import("../../container/status.ts");
  const { containerProcesses } = await import("../../container/top.ts");
  const rows = containerProcesses(reconcile(findContainer(positionals[0]!)));
  console.log(
    table(
      ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
      rows.map((p) => [p.uid, String(p.pid), String(p.ppid), "0", p.stime, p.tty, p.time, p.cmd]),
    ),
  );
  return 0;
}
