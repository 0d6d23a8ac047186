// Reading a container's json-file log (src/supervisor/logs.ts writes it):
// stdout lines to our stdout, stderr lines to our stderr, optionally the
// last N, with timestamps, and following new lines until the container stops.
//
// The log is streamed, never read whole: the files (container.log.N ...
// container.log.1, container.log, oldest first) are read in 64 KiB blocks,
// and --tail N reads backwards from the end until it has N lines. So a log
// of any size costs the same small memory. Following (-f, and `tsbox ui`
// through log_follow.ts) goes on in container.log across rotations (the
// writer renames it away: what is left in the old file is read, then the
// generations in between, then the new one from its start) and truncations
// (max-file 1).

import { TsboxError } from "../errors.ts";
import { findContainer, getContainer } from "../state/containers.ts";
import { type LogLine, logPath, type Stream } from "../supervisor/logs.ts";
import { isActive } from "./state_machine.ts";
import { reconcile } from "./status.ts";

/** Options of `logs`. */
export interface LogOptions {
  follow: boolean;
  tail?: number | undefined;
  timestamps: boolean;
}

const BLOCK = 64 * 1024;
const NL = 0x0a;

/** The log files of container `id` that exist, oldest first. */
export function logFiles(id: string): string[] {
  const base = logPath(id);
  const dir = base.slice(0, base.lastIndexOf("/"));
  const name = base.slice(base.lastIndexOf("/") + 1);
  const rotated: number[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      const m = e.name.startsWith(`${name}.`) ? /^\d+$/.exec(e.name.slice(name.length + 1)) : null;
      if (m) rotated.push(Number(m[0]));
    }
  } catch { /* no directory: no files */ }
  const files = rotated.sort((a, b) => b - a).map((n) => `${base}.${n}`);
  try {
    Deno.statSync(base);
    files.push(base);
  } catch { /* not written yet */ }
  return files;
}

/** Receives each whole record, as bytes without its newline. */
type Sink = (record: Uint8Array) => void;

/** A log file read forward from an offset, whole records only. */
class Reader {
  readonly file: Deno.FsFile;
  offset: number;
  #pending: Uint8Array = new Uint8Array(0);
  readonly #buf = new Uint8Array(BLOCK);

  constructor(file: Deno.FsFile, offset: number) {
    this.file = file;
    this.offset = offset;
  }

  /** Reads what the file has beyond the offset (up to `until`), record by record. Returns bytes read. */
  pump(sink: Sink, until = Infinity): number {
    let total = 0;
    for (;;) {
      this.file.seekSync(this.offset, Deno.SeekMode.Start);
      const room = Math.min(this.#buf.length, until - this.offset);
      const n = room > 0 ? this.file.readSync(this.#buf.subarray(0, room)) : null;
      if (!n) return total;
      this.offset += n;
      total += n;
      let chunk = this.#buf.subarray(0, n);
      if (this.#pending.length) {
        const joined = new Uint8Array(this.#pending.length + n);
        joined.set(this.#pending);
        joined.set(chunk, this.#pending.length);
        chunk = joined;
      }
      let start = 0;
      for (let nl = chunk.indexOf(NL); nl >= 0; nl = chunk.indexOf(NL, start)) {
        sink(chunk.subarray(start, nl));
        start = nl + 1;
      }
      // A record being written: kept until its newline comes.
      this.#pending = chunk.slice(start);
    }
  }

  /** Forgets a partial record (the file was cut back). */
  reset(offset: number): void {
    this.offset = offset;
    this.#pending = new Uint8Array(0);
  }
}

/**
 * Where the last `n` lines begin: the index of the file in `files` (oldest
 * first) and the offset in it, found by reading backwards a block at a time.
 * The newline after the (n+1)th-last line is the answer.
 */
export function tailStart(files: string[], n: number): { file: number; offset: number } {
  let need = n;
  const buf = new Uint8Array(BLOCK);
  for (let i = files.length - 1; i >= 0; i--) {
    let f: Deno.FsFile;
    try {
      f = Deno.openSync(files[i]!);
    } catch {
      continue;
    }
    try {
      let count = 0;
      for (let end = f.statSync().size; end > 0;) {
        const start = Math.max(0, end - BLOCK);
        f.seekSync(start, Deno.SeekMode.Start);
        let got = 0;
        while (got < end - start) {
          const r = f.readSync(buf.subarray(got, end - start));
          if (!r) break;
          got += r;
        }
        for (
          let j = buf.lastIndexOf(NL, got - 1);
          j >= 0;
          j = j ? buf.lastIndexOf(NL, j - 1) : -1
        ) {
          if (++count === need + 1) return { file: i, offset: start + j + 1 };
        }
        end = start;
      }
      if (count >= need) return { file: i, offset: 0 };
      need -= count;
    } finally {
      f.close();
    }
  }
  return { file: 0, offset: 0 };
}

/** Rotated files newer than the one with inode `ino` (all of them if it is gone), oldest first. */
function newerRotations(id: string, ino: number | null): string[] {
  const rotated = logFiles(id).filter((f) => f !== logPath(id));
  const at = rotated.findIndex((f) => {
    try {
      return Deno.statSync(f).ino === ino;
    } catch {
      return false;
    }
  });
  return rotated.slice(at + 1);
}

/**
 * A position in a container's log: `start` passes the records already there
 * (all, or the last `tail`), `next` what came since, across rotations. Close it.
 */
export class LogCursor {
  readonly #id: string;
  readonly #path: string;
  #live: Reader | undefined;

  constructor(id: string) {
    this.#id = id;
    this.#path = logPath(id);
  }

  /** The records there now (the last `tail`; 0: none, undefined: all). */
  start(sink: Sink, tail?: number): void {
    const files = logFiles(this.#id);
    let from = { file: 0, offset: 0 };
    if (tail !== undefined) {
      from = tail === 0 ? { file: files.length, offset: 0 } : tailStart(files, tail);
    }
    for (let i = from.file; i < files.length; i++) {
      let f: Deno.FsFile;
      try {
        f = Deno.openSync(files[i]!);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue; // rotated away meanwhile
        throw new TsboxError(`read the log ${JSON.stringify(files[i])}`, { cause: e });
      }
      const r = new Reader(f, i === from.file ? from.offset : 0);
      // What the file holds now: a container writing without pause does not keep `logs` going.
      r.pump(sink, f.statSync().size);
      if (files[i] === this.#path) this.#live = r;
      else f.close();
    }
    if (tail === 0 && files.includes(this.#path)) {
      try {
        const f = Deno.openSync(this.#path);
        this.#live = new Reader(f, f.statSync().size);
      } catch { /* rotated meanwhile: next() opens the new one */ }
    }
  }

  /** The records written since the last call. */
  next(sink: Sink): void {
    let current: Deno.FileInfo | undefined;
    try {
      current = Deno.statSync(this.#path);
    } catch { /* rotated, not made again yet */ }
    let r = this.#live;
    if (r) {
      const mine = r.file.statSync();
      if (mine.size < r.offset) r.reset(0); // cut back (max-file 1)
      r.pump(sink);
      if (current && current.ino !== mine.ino) {
        r.file.close();
        this.#live = r = undefined;
        // Rotated more than once since we looked: the generations between, oldest first.
        for (const f of newerRotations(this.#id, mine.ino)) {
          try {
            const between = new Reader(Deno.openSync(f), 0);
            between.pump(sink);
            between.file.close();
          } catch { /* rotated away meanwhile */ }
        }
      }
    }
    if (!r && current) {
      try {
        this.#live = new Reader(Deno.openSync(this.#path), 0);
        this.#live.pump(sink);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }

  close(): void {
    this.#live?.file.close();
    this.#live = undefined;
  }
}

/** Parses one record; undefined for a damaged one. */
export function parseRecord(bytes: Uint8Array): LogLine | undefined {
  try {
    const l = JSON.parse(new TextDecoder().decode(bytes)) as LogLine;
    return typeof l.log === "string" ? l : undefined;
  } catch {
    return undefined;
  }
}

/** Writes to stdout and stderr in the order lines come, a block at a time. */
class Output {
  #stream: Stream = "stdout";
  #parts: Uint8Array[] = [];
  #size = 0;
  readonly #enc = new TextEncoder();
  readonly #timestamps: boolean;
  damaged = 0;

  constructor(timestamps: boolean) {
    this.#timestamps = timestamps;
  }

  /** One record's bytes (without its newline). */
  readonly record = (bytes: Uint8Array): void => {
    const l = parseRecord(bytes);
    if (!l) {
      this.damaged++;
      return;
    }
    const stream = l.stream === "stderr" ? "stderr" : "stdout";
    if (stream !== this.#stream) this.flush();
    this.#stream = stream;
    const b = this.#enc.encode((this.#timestamps ? `${l.time} ` : "") + l.log);
    this.#parts.push(b);
    this.#size += b.length;
    if (this.#size >= BLOCK) this.flush();
  };

  flush(): void {
    const out = this.#stream === "stderr" ? Deno.stderr : Deno.stdout;
    for (const p of this.#parts) {
      for (let off = 0; off < p.length;) off += out.writeSync(p.subarray(off));
    }
    this.#parts = [];
    this.#size = 0;
  }
}

/** Prints the logs of container `ref`. */
export async function printLogs(ref: string, opts: LogOptions): Promise<void> {
  const rec = findContainer(ref);
  if (rec.config.log?.driver === "none") {
    throw new TsboxError(
      `configured logging driver does not support reading: container ${rec.name} has log driver none`,
      { exitCode: 1 },
    );
  }
  const out = new Output(opts.timestamps);
  const cursor = new LogCursor(rec.id);
  try {
    cursor.start(out.record, opts.tail);
    out.flush();
    while (opts.follow) {
      const now = getContainer(rec.id);
      const running = now !== undefined && isActive(reconcile(now));
      cursor.next(out.record);
      out.flush();
      if (!running) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    cursor.close();
  }
  if (out.damaged) {
    console.error(`tsbox: the log of ${rec.name} has ${out.damaged} damaged records (skipped)`);
  }
}
