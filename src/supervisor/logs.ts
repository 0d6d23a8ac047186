// Container logs. A detached container's stdout and stderr are FIFOs
// (fifo(7)) under the run root, which the container holds open read-write:
// a FIFO with a reader never fails a write with EPIPE, so if the supervisor
// dies the container's writes only wait (64 KiB of pipe buffer) until a new
// supervisor reopens the FIFO and drains it. Lines go to
// containers/<id>/container.log in Docker's json-file format:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-29T02:50:00.123Z"}

import { O, S_IFIFO } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { containerDir, runRoot } from "../paths.ts";

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

const MAX_PARTIAL = 16 * 1024;

/** Appends a container's output to its json-file log, line by line. */
export class LogWriter {
  readonly #fd: number;
  readonly #partial: Record<Stream, Uint8Array[]> = { stdout: [], stderr: [] };
  readonly #decoder = new TextDecoder();
  readonly #encoder = new TextEncoder();

  constructor(id: string) {
    this.#fd = sys(
      "open",
      [logPath(id), O.WRONLY | O.APPEND | O.CREAT | O.CLOEXEC, 0o600],
      JSON.stringify(logPath(id)),
    );
  }

  /** Adds bytes read from `stream`; complete lines are written at once. */
  write(stream: Stream, data: Uint8Array): void {
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === 0x0a) {
        this.#emit(stream, data.subarray(start, i + 1));
        start = i + 1;
      }
    }
    if (start < data.length) {
      this.#partial[stream].push(data.slice(start));
      if (this.#partial[stream].reduce((a, c) => a + c.length, 0) > MAX_PARTIAL) this.flush(stream);
    }
  }

  /** Writes out an unterminated last line. */
  flush(stream: Stream): void {
    if (this.#partial[stream].length) this.#emit(stream, new Uint8Array(0));
  }

  #emit(stream: Stream, tail: Uint8Array): void {
    const parts = [...this.#partial[stream], tail];
    this.#partial[stream] = [];
    const bytes = new Uint8Array(parts.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const p of parts) (bytes.set(p, o), o += p.length);
    const line =
      JSON.stringify({ log: this.#decoder.decode(bytes), stream, time: new Date().toISOString() }) +
      "\n";
    const out = this.#encoder.encode(line);
    sysRaw("write", [this.#fd, out, out.length]);
  }

  close(): void {
    this.flush("stdout");
    this.flush("stderr");
    sysRaw("close", [this.#fd]);
  }
}

/** Reads everything available from a non-blocking fd; returns null at EOF. */
export function drain(fd: number, buf: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  for (;;) {
    const n = sysRaw("read", [fd, buf, buf.length]);
    if (n > 0) {
      out.push(buf.slice(0, n));
      continue;
    }
    if (n === 0) return out.length ? out : null;
    if (n === -Errno.EAGAIN || n === -Errno.EINTR) return out;
    // EIO from a pty master whose slave side is closed: the end.
    return out.length ? out : null;
  }
}

/** One parsed log line. */
export interface LogLine {
  log: string;
  stream: Stream;
  time: string;
}

/** Parses json-file log text. */
export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split("\n")) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l));
    } catch { /* a line being written */ }
  }
  return out;
}
