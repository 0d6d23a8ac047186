// The last --trace run of a container, kept as trace.json in its directory
// (the start path writes it; `tsbox ui` draws it as a waterfall). A file
// beside the container rather than a table: it is written once per traced
// start, read rarely, and goes with the container's directory on `rm`.

import { containerDir } from "../paths.ts";
import type { TraceRecord } from "../runtime/trace.ts";

/** A saved trace. */
export interface SavedTrace {
  /** When it was saved (RFC 3339). */
  time: string;
  steps: TraceRecord[];
}

const FILE = "trace.json";

/** Saves `steps` as the container's last trace; a failure to write is not the start's failure. */
export function saveTrace(dir: string, steps: readonly TraceRecord[]): void {
  try {
    const doc: SavedTrace = { time: new Date().toISOString(), steps: [...steps] };
    Deno.writeTextFileSync(`${dir}/${FILE}`, JSON.stringify(doc), { mode: 0o600 });
  } catch { /* the directory went (rm -f meanwhile) */ }
}

/** The last trace of container `id`, or undefined when it was never started with --trace. */
export function loadTrace(id: string): SavedTrace | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${containerDir(id)}/${FILE}`)) as SavedTrace;
  } catch {
    return undefined;
  }
}
