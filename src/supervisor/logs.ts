// Container logs. A detached container's stdout and stderr are FIFOs
// (fifo(7)) under the run root, which the container holds open read-write:
// a FIFO with a reader never fails a write with EPIPE, so if the supervisor
// dies the container's writes only wait (64 KiB of pipe buffer) until a new
// supervisor reopens the FIFO and drains it. Lines go to
// containers/<id>/container.log in Docker's json-file format:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-29T02:50:00.123Z"}

import { O, S_IFIFO } from "../../ffi/constants.ts";
import { describeErrno, Errno } from "../../ffi/errno.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { containerDir, runRoot } from "../paths.ts";
import type { LogRotation } from "../spec/log_config.ts";

/** The stream a log line came from. */
export type Stream = "stdout" | "stderr";

/** Where a container's runtime files live (FIFOs). */
export function containerRunDir(id: string): string {
  return `${runRoot()}/containers/${id}`;
}

/** The json-file log of a container. */
export function logPath(id: string): string {
  return `${containerDir(id)}/container.log`;
}

/** Creates (if missing) the stdout/stderr FIFOs of a container; returns their paths. */
export function makeFifos(id: string): Record<Stream, string> {
  const dir = containerRunDir(id);
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { stdout: `${dir}/stdout`, stderr: `${dir}/stderr` };
  for (const p of Object.values(paths)) {
    const r = sysRaw("mknodat", [-100, p, S_IFIFO | 0o600, 0]);
    if (r < 0 && r !== -Errno.EEXIST) {
      sys("mknodat", [-100, p, S_IFIFO | 0o600, 0], JSON.stringify(p));
    }
  }
  return paths;
}

/** The stdin FIFO of a detached `-i` container (made if missing): `attach` writes to it. */
export function stdinFifo(id: string): string {
  const dir = containerRunDir(id);
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = `${dir}/stdin`;
  const r = sysRaw("mknodat", [-100, p, S_IFIFO | 0o600, 0]);
  if (r < 0 && r !== -Errno.EEXIST) {
    sys("mknodat", [-100, p, S_IFIFO | 0o600, 0], JSON.stringify(p));
  }
  return p;
}

/** Opens a FIFO read-write (never blocks, never EPIPE): the end a container writes to. */
export function openFifoForContainer(path: string): number {
  return sys("open", [path, O.RDWR | O.CLOEXEC], JSON.stringify(path));
}

/** Opens a FIFO for non-blocking reads by the supervisor. */
export function openFifoForReading(path: string): number {
  return sys("open", [path, O.RDONLY | O.NONBLOCK | O.CLOEXEC], JSON.stringify(path));
}

/** Docker cuts a line without a newline at 16 KiB into its own record. */
const MAX_PARTIAL = 16 * 1024;
const SEEK_END = 2;
const NL = 0x0a;

/** The rotated files of a log, newest first: container.log.1, .2, ... */
export function rotatedPaths(log: string, maxFile: number): string[] {
  return Array.from({ length: Math.max(0, maxFile - 1) }, (_, i) => `${log}.${i + 1}`);
}

/**
 * Encodes lines as json-file records, with no JavaScript call per line (the
 * supervisor runs without JIT): one JSON.stringify escapes every line, and
 * the array's element boundaries become record boundaries with two regular
 * expression passes. A boundary is `","` whose first quote is not escaped;
 * escaped backslashes are set aside first (as U+0001, which JSON.stringify
 * never leaves raw), so "not escaped" is "no backslash before it".
 *
 * @example encodeRecords(["a", "b"], "stdout", "T", true)
 * // '{"log":"a\\n","stream":"stdout","time":"T"}\n{"log":"b\\n",...}\n'
 */
export function encodeRecords(
  lines: readonly string[],
  stream: Stream,
  time: string,
  newline: boolean,
): string {
  if (!lines.length) return "";
  const end = `${newline ? "\\n" : ""}","stream":"${stream}","time":"${time}"}\n`;
  const body = JSON.stringify(lines).slice(2, -2).replaceAll("\\\\", "\u0001")
    .replace(/(?<!\\)","/g, `${end}{"log":"`).replaceAll("\u0001", "\\\\");
  return `{"log":"${body}${end}`;
}

/**
 * Appends a container's output to its log, line by line, as json-file
 * records (Docker's format), rotating by size (max-size, max-file), never
 * leaving half a record: a write that fails midway (a full disk) is cut back
 * to the last whole record and its lines are counted as lost, so the next
 * record never merges with a broken one. `tsbox logs` reads the files
 * (src/container/logs.ts).
 */
export class LogWriter {
  readonly #id: string;
  readonly #config: LogRotation;
  #fd = -1;
  /** Bytes in the current file. */
  #size = 0;
  readonly #partial: Record<Stream, string> = { stdout: "", stderr: "" };
  readonly #decoder: Record<Stream, TextDecoder> = {
    stdout: new TextDecoder(),
    stderr: new TextDecoder(),
  };
  readonly #encoder = new TextEncoder();
  /** Lines lost to write errors since the last one was reported. */
  #lost = 0;
  #lostReason = "";

  readonly #path: string;

  /** The log of container `id` (at `path`: tests). */
  constructor(
    id: string,
    config: LogRotation = { driver: "json-file", maxFile: 1 },
    path = logPath(id),
  ) {
    this.#id = id;
    this.#config = config;
    this.#path = path;
    if (config.driver !== "none") this.#open();
  }

  /** Opens the log again after a rotation; on failure the lines are counted lost by the write. */
  #reopen(): void {
    try {
      this.#open();
    } catch { /* #writeRecords tries again and counts what is lost */ }
  }

  #open(): void {
    const path = this.#path;
    this.#fd = sys(
      "open",
      [path, O.WRONLY | O.APPEND | O.CREAT | O.CLOEXEC, 0o600],
      JSON.stringify(path),
    );
    this.#size = Math.max(0, sysRaw("lseek", [this.#fd, 0, SEEK_END]));
  }

  /** Adds bytes read from `stream`; complete lines are written at once. */
  write(stream: Stream, data: Uint8Array, time = new Date().toISOString()): void {
    if (this.#config.driver === "none") return;
    const text = this.#partial[stream] + this.#decoder[stream].decode(data, { stream: true });
    const lines = text.split("\n");
    this.#partial[stream] = lines.pop()!;
    let out = encodeRecords(lines, stream, time, true);
    // A line that does not end: Docker cuts it at 16 KiB into records of its own.
    while (this.#partial[stream].length > MAX_PARTIAL) {
      out += encodeRecords([this.#partial[stream].slice(0, MAX_PARTIAL)], stream, time, false);
      this.#partial[stream] = this.#partial[stream].slice(MAX_PARTIAL);
    }
    if (out) this.#append(this.#encoder.encode(out));
  }

  /** Writes out an unterminated last line. */
  flush(stream: Stream): void {
    if (this.#config.driver === "none") return;
    const rest = this.#partial[stream] + this.#decoder[stream].decode();
    this.#partial[stream] = "";
    if (rest) {
      this.#append(
        this.#encoder.encode(encodeRecords([rest], stream, new Date().toISOString(), false)),
      );
    }
  }

  /** Appends whole records, rotating first when the file would grow past max-size. */
  #append(bytes: Uint8Array): void {
    const max = this.#config.maxSize;
    let off = 0;
    while (off < bytes.length) {
      let end = bytes.length;
      if (this.#fd < 0) this.#reopen();
      if (max !== undefined && this.#size + (end - off) > max) {
        // As many whole records as fit; at least one, in a fresh file.
        const fit = bytes.lastIndexOf(NL, off + Math.max(0, max - this.#size) - 1);
        if (fit >= off) end = fit + 1;
        else if (this.#size > 0) {
          this.#rotate();
          continue;
        } else {
          const first = bytes.indexOf(NL, off);
          end = first < 0 ? bytes.length : first + 1;
        }
      }
      this.#writeRecords(bytes.subarray(off, end));
      off = end;
    }
  }

  /** Writes whole records, or nothing of them. */
  #writeRecords(bytes: Uint8Array): void {
    const lost = (why: string) => {
      for (let i = bytes.indexOf(NL); i >= 0; i = bytes.indexOf(NL, i + 1)) this.#lost++;
      this.#lostReason = why;
    };
    if (this.#fd < 0) {
      // The file could not be opened again after a rotation (a full disk): try again now.
      try {
        this.#open();
      } catch (e) {
        lost(e instanceof Error ? e.message : String(e));
        return;
      }
    }
    let done = 0;
    while (done < bytes.length) {
      const n = sysRaw("write", [this.#fd, bytes.subarray(done), bytes.length - done]);
      if (n === -Errno.EINTR) continue;
      if (n <= 0) {
        // Cut back what was written of these records: no half record stays.
        if (done > 0) sysRaw("ftruncate", [this.#fd, this.#size]);
        lost(n < 0 ? describeErrno(-n) : "short write");
        return;
      }
      done += n;
    }
    this.#size += bytes.length;
    if (this.#lost) {
      try {
        console.error(
          `tsbox supervisor: log of ${
            this.#id.slice(0, 12)
          }: ${this.#lost} lines lost: ${this.#lostReason}`,
        );
      } catch { /* supervisor.log is on a full disk too */ }
      this.#lost = 0;
    }
  }

  /** container.log -> .1 -> .2 ... (the oldest beyond max-file goes); a new container.log. */
  #rotate(): void {
    const rotated = rotatedPaths(this.#path, this.#config.maxFile);
    if (rotated.length === 0) {
      // max-file 1: the log starts over (a reader notices it shrank).
      sysRaw("ftruncate", [this.#fd, 0]);
      this.#size = 0;
      return;
    }
    const path = this.#path;
    sysRaw("close", [this.#fd]);
    this.#fd = -1;
    this.#size = 0;
    for (let i = rotated.length - 1; i >= 0; i--) {
      sysRaw("rename", [i === 0 ? path : rotated[i - 1]!, rotated[i]!]);
    }
    // Opened again by the next write (which may find the disk full).
  }

  close(): void {
    this.flush("stdout");
    this.flush("stderr");
    if (this.#fd >= 0) sysRaw("close", [this.#fd]);
    this.#fd = -1;
  }
}

/**
 * Reads what is available from a non-blocking fd, at most `budget` bytes (one
 * pipe's worth by default: a container that writes without pause gets one
 * read per turn of the supervisor's loop, like every other); returns null at EOF.
 */
export function drain(fd: number, buf: Uint8Array, budget = buf.length): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let got = 0;
  while (got < budget) {
    const n = sysRaw("read", [fd, buf, Math.min(buf.length, budget - got)]);
    if (n > 0) {
      out.push(buf.slice(0, n));
      got += n;
      continue;
    }
    if (n === 0) return out.length ? out : null;
    if (n === -Errno.EAGAIN || n === -Errno.EINTR) return out;
    // EIO from a pty master whose slave side is closed: the end.
    return out.length ? out : null;
  }
  return out;
}

/** One parsed log record. */
export interface LogLine {
  log: string;
  stream: Stream;
  time: string;
}

/** Parses json-file log text (whole records; a damaged one is skipped). */
export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split("\n")) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l));
    } catch { /* damaged */ }
  }
  return out;
}
