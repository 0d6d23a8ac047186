// Output helpers shared by the Docker-style verbs: tables aligned like
// Docker's tabwriter (3 spaces of padding), durations ("2 minutes"), sizes
// ("4.1MB", decimal units as Docker prints them).

/** Renders rows under headers, columns padded to the widest cell plus 3 spaces. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** "Less than a second", "5 seconds", "About a minute", "3 hours"... as Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** "2 minutes ago" for an RFC 3339 time. */
export function ago(time: string | null | undefined, nowMs = Date.now()): string {
  if (!time) return "";
  return `${humanDuration(nowMs - Date.parse(time))} ago`;
}

/** Decimal size as Docker prints it: "1.98MB", "512B". */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes, i = 0;
  while (v >= 1000 && i < units.length - 1) (v /= 1000, i++);
  const s = v < 10 && i > 0
    ? v.toFixed(2)
    : v < 100 && i > 0
    ? v.toFixed(1)
    : Math.round(v).toString();
  return `${s.replace(/\.0+$/, "")}${units[i]}`;
}

/** Binary size for memory: "64MiB". */
export function humanBinary(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024, i++);
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1).replace(/\.0+$/, "")}${units[i]}`;
}
