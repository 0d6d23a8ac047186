// tsbox events: container events as they happen.

import { bool, type FlagDef, formatHelp, list, parseFlags, str } from "../flags.ts";
import { UsageError } from "../../errors.ts";
import { compileTemplate } from "../template.ts";

const FLAGS: FlagDef[] = [
  {
    name: "since",
    type: "string",
    value: "TIME",
    help: "Show events since a time (RFC 3339, or seconds ago like 10m)",
  },
  { name: "until", type: "string", value: "TIME", help: "Stop at this time" },
  {
    name: "filter",
    short: "f",
    type: "list",
    value: "KEY=VALUE",
    help: "Filter: container=, event=, type=",
  },
  {
    name: "format",
    type: "string",
    value: "TEMPLATE",
    help: "Format events with a Go-style template",
  },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "events [OPTIONS]",
  "Print container events (create, start, die, oom, stop, kill, pause, unpause, restart, rename, destroy)\nas they happen.",
  [
    "tsbox events",
    "tsbox events --since 10m --until 0s",
    "tsbox events -f event=die -f container=web",
  ],
  FLAGS,
);

function parseTime(v: string): number {
  const rel = v.match(/^(\d+)(ms|s|m|h)$/);
  if (rel) {
    return Date.now() - Number(rel[1]) * ({ ms: 1, s: 1000, m: 60000, h: 3600000 }[rel[2] as "s"]);
  }
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`invalid time ${JSON.stringify(v)}`);
  return t;
}

/** Entry point of `tsbox events`. */
export async function main(args: string[]): Promise<number> {
  const { flags } = parseFlags("events", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const since = str(flags, "since"), until = str(flags, "until");
  const sinceMs = since !== undefined ? parseTime(since) : undefined;
  const untilMs = until !== undefined ? parseTime(until) : undefined;
  const filters = list(flags, "filter").map((f) => {
    const i = f.indexOf("=");
    if (i < 0) throw new UsageError(`invalid filter ${JSON.stringify(f)}`);
    return [f.slice(0, i), f.slice(i + 1)] as const;
  });
  const fmt = str(flags, "format");
  const tpl = fmt !== undefined ? compileTemplate(fmt) : undefined;
  const { eventsAfter, lastEventSeq } = await import("../../state/events.ts");
  let seq = sinceMs !== undefined ? 0 : lastEventSeq();
  for (;;) {
    for (const e of eventsAfter(seq)) {
      seq = e.seq;
      const t = Date.parse(e.time);
      if (sinceMs !== undefined && t < sinceMs) continue;
      if (untilMs !== undefined && t > untilMs) return 0;
      const ok = filters.every(([k, v]) =>
        k === "event"
          ? e.action === v
          : k === "type"
          ? e.type === v
          : k === "container"
          ? e.id.startsWith(v) || e.attributes.name === v
          : true
      );
      if (!ok) continue;
      const attrs = Object.entries(e.attributes).map(([k, v]) => `${k}=${v}`).join(", ");
      console.log(
        tpl
          ? tpl.render({
            Type: e.type,
            Action: e.action,
            ID: e.id,
            Time: e.time,
            Actor: { ID: e.id, Attributes: e.attributes },
          })
          : `${e.time} ${e.type} ${e.action} ${e.id}${attrs ? ` (${attrs})` : ""}`,
      );
    }
    if (untilMs !== undefined && Date.now() > untilMs) return 0;
    await new Promise((r) => setTimeout(r, 100));
  }
}
