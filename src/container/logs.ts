// Reading a container's json-file log (src/supervisor/logs.ts writes it):
// stdout lines to our stdout, stderr lines to our stderr, optionally the
// last N, with timestamps, and following new lines until the container stops.

import { isActive } from "./state_machine.ts";
import { findContainer, getContainer } from "../state/containers.ts";
import { type LogLine, logPath, parseLog } from "../supervisor/logs.ts";
import { reconcile } from "./status.ts";

/** Options of `logs`. */
export interface LogOptions {
  follow: boolean;
  tail?: number | undefined;
  timestamps: boolean;
}

const enc = new TextEncoder();

function print(lines: LogLine[], timestamps: boolean): void {
  for (const l of lines) {
    const text = (timestamps ? `${l.time} ` : "") + l.log;
    (l.stream === "stderr" ? Deno.stderr : Deno.stdout).writeSync(enc.encode(text));
  }
}

/** The whole lines of `path` from byte `offset`, and where the next read starts. */
export function readFrom(path: string, offset: number): { text: string; end: number } {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path);
  } catch {
    return { text: "", end: offset };
  }
  try {
    const size = f.statSync().size;
    if (size <= offset) return { text: "", end: offset };
    f.seekSync(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = f.readSync(buf.subarray(got));
      if (!n) break;
      got += n;
    }
    // Only whole lines; a partial last line is read next time.
    const text = new TextDecoder().decode(buf.subarray(0, got));
    const cut = text.lastIndexOf("\n") + 1;
    return {
      text: text.slice(0, cut),
      end: offset + new TextEncoder().encode(text.slice(0, cut)).length,
    };
  } finally {
    f.close();
  }
}

/** Prints the logs of container `ref`. */
export async function printLogs(ref: string, opts: LogOptions): Promise<void> {
  const rec = findContainer(ref);
  const path = logPath(rec.id);
  let { text, end } = readFrom(path, 0);
  let lines = parseLog(text);
  if (opts.tail !== undefined) lines = opts.tail === 0 ? [] : lines.slice(-opts.tail);
  print(lines, opts.timestamps);
  if (!opts.follow) return;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    ({ text, end } = readFrom(path, end));
    print(parseLog(text), opts.timestamps);
    const now = getContainer(rec.id);
    if (!now || !isActive(reconcile(now))) {
      ({ text, end } = readFrom(path, end));
      print(parseLog(text), opts.timestamps);
      return;
    }
  }
}
