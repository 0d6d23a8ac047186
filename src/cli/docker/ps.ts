// tsbox ps: list containers, with Docker's filters and --format.

import { UsageError } from "../../errors.ts";
import type { ContainerRecord } from "../../state/containers.ts";
import { networkModeText } from "../../spec/config.ts";
import { bool, type FlagDef, formatHelp, list, parseFlags, str } from "../flags.ts";
import { ago, humanDuration, table } from "../human.ts";
import { compileTemplate } from "../template.ts";

const FLAGS: FlagDef[] = [
  {
    name: "all",
    short: "a",
    type: "bool",
    help: "Show all containers (default shows just running)",
  },
  { name: "quiet", short: "q", type: "bool", help: "Only display container ids" },
  { name: "no-trunc", type: "bool", help: "Do not truncate output" },
  {
    name: "filter",
    short: "f",
    type: "list",
    value: "KEY=VALUE",
    help: "Filter: status, name, id, label, ancestor, exited",
  },
  {
    name: "format",
    type: "string",
    value: "TEMPLATE",
    help: "Go-style template, e.g. 'table {{.ID}}\\t{{.Status}}'",
  },
  {
    name: "last",
    short: "n",
    type: "int",
    value: "N",
    help: "Show the N last created containers (all states)",
  },
  {
    name: "latest",
    short: "l",
    type: "bool",
    help: "Show the latest created container (all states)",
  },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "ps [OPTIONS]",
  "List containers.",
  [
    "tsbox ps",
    "tsbox ps -aq",
    "tsbox ps -a -f status=exited -f name=web",
    "tsbox ps --format '{{.Names}}: {{.Status}}'",
  ],
  FLAGS,
);

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

function labelsOf(c: ContainerRecord): Record<string, string> {
  return c.config.labels;
}

/** A predicate for one `--filter KEY=VALUE`. */
export function psFilter(f: string): (c: ContainerRecord) => boolean {
  const i = f.indexOf("=");
  if (i < 0) throw new UsageError(`bad format of filter (expected name=value): ${f}`);
  const key = f.slice(0, i), value = f.slice(i + 1);
  switch (key) {
    case "status":
      if (
        !["created", "restarting", "running", "removing", "paused", "exited", "dead"].includes(
          value,
        )
      ) {
        throw new UsageError(`invalid filter 'status=${value}'`);
      }
      return (c) => c.status === value;
    case "name":
      return (c) => new RegExp(value).test(c.name);
    case "id":
      return (c) => c.id.startsWith(value);
    case "label": {
      const j = value.indexOf("=");
      return (c) => {
        const l = labelsOf(c);
        return j < 0 ? value in l : l[value.slice(0, j)] === value.slice(j + 1);
      };
    }
    case "ancestor":
      return (c) =>
        c.image === value || c.image === `${value}:latest` ||
        (c.imageId ?? "").startsWith(value.replace(/^sha256:/, ""));
    case "exited":
      return (c) => c.status === "exited" && String(c.exitCode) === value;
    default:
      throw new UsageError(`invalid filter '${key}'`);
  }
}

/** Entry point of `tsbox ps`. */
export async function main(args: string[]): Promise<number> {
  const { flags } = parseFlags("ps", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const filters = list(flags, "filter").map(psFilter);
  const format = str(flags, "format");
  const tpl = format !== undefined ? compileTemplate(format) : undefined;
  const { listContainers } = await import("../../state/containers.ts");
  const { reconcile } = await import("../../container/status.ts");
  const last = bool(flags, "latest") ? 1 : (flags.last as number | undefined);
  // As Docker: a status filter looks at every container, other filters only at running ones.
  const all = bool(flags, "all") || last !== undefined ||
      list(flags, "filter").some((f) => f.startsWith("status=")),
    full = bool(flags, "no-trunc");
  let rows = listContainers().map(reconcile)
    .filter((c) =>
      all || c.status === "running" || c.status === "paused" || c.status === "restarting"
    )
    .filter((c) => filters.every((f) => f(c)));
  if (last !== undefined) rows = rows.slice(0, last);
  const id = (c: ContainerRecord) => (full ? c.id : c.id.slice(0, 12));
  if (bool(flags, "quiet")) {
    if (rows.length) console.log(rows.map(id).join("\n"));
    return 0;
  }
  const { bindingsOf } = await import("../../net/reservations.ts");
  const { formatPortsColumn } = await import("../../net/ports.ts");
  const ports = (
    c: ContainerRecord,
  ) => (c.status === "running" ? formatPortsColumn(bindingsOf(c.id)) : "");
  const view = rows.map((c) => ({
    ID: id(c),
    Image: c.image,
    Command: commandText(c, full),
    CreatedAt: c.created,
    RunningFor: ago(c.created),
    Ports: ports(c),
    Status: statusText(c),
    State: c.status,
    Names: c.name,
    Labels: Object.entries(labelsOf(c)).map(([k, v]) => `${k}=${v}`).join(","),
    Networks: networkModeText(c.config.network.mode),
  }));
  if (tpl && !tpl.table) {
    for (const v of view) console.log(tpl.render(v));
    return 0;
  }
  if (tpl) {
    // "table" formats: the header is the template rendered with field names.
    const header = Object.fromEntries(
      Object.keys(view[0] ?? { ID: "" }).map((k) => [k, HEADERS[k] ?? k.toUpperCase()]),
    );
    const lines = [tpl.render(header), ...view.map((v) => tpl.render(v))].map((l) => l.split("\t"));
    console.log(table(lines[0]!, lines.slice(1)));
    return 0;
  }
  console.log(table(
    ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
    view.map((v) => [v.ID, v.Image, v.Command, v.RunningFor, v.Status, v.Ports, v.Names]),
  ));
  return 0;
}

const HEADERS: Record<string, string> = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  Status: "STATUS",
  State: "STATE",
  Names: "NAMES",
  Labels: "LABELS",
  Networks: "NETWORKS",
};
