// tsbox ps: list containers.

import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { ago, humanDuration, table } from "../human.ts";
import type { ContainerRecord } from "../../state/containers.ts";

const FLAGS: FlagDef[] = [
  {
    name: "all",
    short: "a",
    type: "bool",
    help: "Show all containers (default shows just running)",
  },
  { name: "quiet", short: "q", type: "bool", help: "Only display container ids" },
  { name: "no-trunc", type: "bool", help: "Do not truncate output" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp("ps [OPTIONS]", "List containers.", ["tsbox ps", "tsbox ps -aq"], FLAGS);

/** Docker's STATUS column. */
export function statusText(c: ContainerRecord, nowMs = Date.now()): string {
  switch (c.status) {
    case "running":
      return `Up ${humanDuration(nowMs - Date.parse(c.startedAt ?? c.created))}`;
    case "paused":
      return `Up ${humanDuration(nowMs - Date.parse(c.startedAt ?? c.created))} (Paused)`;
    case "restarting":
      return `Restarting (${c.exitCode ?? 0}) ${ago(c.finishedAt, nowMs)}`;
    case "exited":
      return `Exited (${c.exitCode ?? 0}) ${ago(c.finishedAt ?? c.created, nowMs)}`;
    case "dead":
      return "Dead";
    case "removing":
      return "Removal In Progress";
    default:
      return "Created";
  }
}

/** Docker's COMMAND column: the command quoted, cut at 20 characters. */
export function commandText(c: ContainerRecord, full = false): string {
  const cmd = (c.spec.process?.args ?? []).join(" ");
  return JSON.stringify(full || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`);
}

/** Entry point of `tsbox ps`. */
export async function main(args: string[]): Promise<number> {
  const { flags } = parseFlags("ps", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const { listContainers } = await import("../../state/containers.ts");
  const { reconcile } = await import("../../container/status.ts");
  const all = bool(flags, "all"), full = bool(flags, "no-trunc");
  const list = listContainers().map(reconcile).filter((c) =>
    all || c.status === "running" || c.status === "paused" || c.status === "restarting"
  );
  const id = (c: ContainerRecord) => (full ? c.id : c.id.slice(0, 12));
  if (bool(flags, "quiet")) {
    if (list.length) console.log(list.map(id).join("\n"));
    return 0;
  }
  console.log(table(
    ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
    list.map((
      c,
    ) => [id(c), c.image, commandText(c, full), ago(c.created), statusText(c), "", c.name]),
  ));
  return 0;
}
