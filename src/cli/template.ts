// A small subset of Go's text/template, enough for Docker-style --format:
// literal text, {{.Field.Sub}}, {{json .Field}}, {{index .Map "key"}},
// {{upper .F}}, {{lower .F}}, {{join .List ","}}, and a leading "table "
// that asks for a header row. Unknown fields print "<no value>", as Go does.

import { UsageError } from "../errors.ts";

type Value = unknown;

function field(data: Value, path: string): Value {
  if (path === ".") return data;
  let v: Value = data;
  for (const key of path.replace(/^\./, "").split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, Value>)[key];
  }
  return v;
}

function show(v: Value): string {
  if (v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(show).join(" ")}]`;
  if (typeof v === "object") {
    return `map[${Object.entries(v as object).map(([k, x]) => `${k}:${show(x)}`).join(" ")}]`;
  }
  return String(v);
}

function tokens(expr: string): string[] {
  return expr.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

function evalExpr(expr: string, data: Value): Value {
  const t = tokens(expr.trim());
  const arg = (s: string | undefined): Value => {
    if (s === undefined) throw new UsageError(`template: missing argument in {{${expr}}}`);
    if (s.startsWith('"')) return JSON.parse(s);
    if (s.startsWith(".")) return field(data, s);
    if (/^-?\d+$/.test(s)) return Number(s);
    throw new UsageError(`template: cannot evaluate ${JSON.stringify(s)} in {{${expr}}}`);
  };
  const [head, ...rest] = t;
  switch (head) {
    case undefined:
      return "";
    case "json":
      return JSON.stringify(arg(rest[0]) ?? null);
    case "index": {
      const m = arg(rest[0]) as Record<string, Value> | undefined;
      return m?.[String(arg(rest[1]))];
    }
    case "upper":
      return show(arg(rest[0])).toUpperCase();
    case "lower":
      return show(arg(rest[0])).toLowerCase();
    case "join":
      return ((arg(rest[0]) as Value[] | undefined) ?? []).map(show).join(String(arg(rest[1])));
    default:
      if (rest.length) {
        throw new UsageError(`template: function ${JSON.stringify(head)} not defined`);
      }
      return arg(head);
  }
}

/** A compiled template. */
export interface Template {
  /** Whether it asked for a table with a header row. */
  table: boolean;
  render(data: Value): string;
}

/** Compiles `format`. */
export function compileTemplate(format: string): Template {
  let table = false;
  let body = format;
  if (body.startsWith("table ")) (table = true, body = body.slice(6));
  else if (body === "table") (table = true, body = "");
  body = body.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  const parts: ({ text: string } | { expr: string })[] = [];
  const re = /\{\{-?\s*(.*?)\s*-?\}\}/g;
  let last = 0;
  for (let m; (m = re.exec(body));) {
    parts.push({ text: body.slice(last, m.index) }, { expr: m[1]! });
    last = re.lastIndex;
  }
  parts.push({ text: body.slice(last) });
  return {
    table,
    render: (data) =>
      parts.map((p) => ("text" in p ? p.text : show(evalExpr(p.expr, data)))).join(""),
  };
}
