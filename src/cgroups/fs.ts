// File access for cgroupfs (cgroup v1 and v2 alike): control files are read
// and written with open/read/write through ffi/syscall.ts, so a failure names
// the file and the errno, e.g.
//   write "/sys/fs/cgroup/memory/tsbox/abc/memory.limit_in_bytes": EINVAL (Invalid argument)
// Group directories are made with mkdir(2) and removed with rmdir(2).
// Documentation/admin-guide/cgroup-v2.rst ("Basic Operations") and
// Documentation/admin-guide/cgroup-v1/cgroups.rst describe the file semantics:
// one write(2) is one command, and a trailing newline is ignored.

import { AT_FDCWD, O } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function q(path: string): string {
  return JSON.stringify(path);
}

function writeWith(path: string, value: string, flags: number): void {
  const fd = sys("openat", [AT_FDCWD, path, O.WRONLY | O.CLOEXEC | flags], q(path));
  try {
    const bytes = encoder.encode(value);
    sys("write", [fd, bytes, bytes.length], q(path));
  } finally {
    sysRaw("close", [fd]);
  }
}

/**
 * Replaces the content of a control file with `value` (one write(2)).
 * Throws a SyscallError naming the path and errno.
 *
 * @example writeValue("/sys/fs/cgroup/pids/tsbox/abc/pids.max", "100");
 * Requires root for real cgroupfs files.
 */
export function writeValue(path: string, value: string): void {
  writeWith(path, value, O.TRUNC);
}

/**
 * Writes one command line to a control file that takes commands rather than a
 * value (`cgroup.procs`, `devices.allow`, `io.max`, `cgroup.subtree_control`).
 * It opens with O_APPEND, so on a plain-file fixture the commands accumulate
 * one per line and a test can read back the sequence.
 */
export function writeCommand(path: string, line: string): void {
  writeWith(path, line.endsWith("\n") ? line : `${line}\n`, O.APPEND);
}

/** The read buffer of readText, shared: reads are synchronous, so one at a time. */
const readBuf = new Uint8Array(64 * 1024);

/**
 * Reads a whole file (cgroupfs files report size 0, so it reads until EOF).
 * The common case goes through Deno's own read (about 3 µs a file, against
 * 15-20 µs for four FFI calls: it matters to `stats` and `tsbox ui`, which read
 * a dozen files per container every second); a failure is read again through
 * the syscalls, so the error is the SyscallError with errno and path that
 * callers (tryReadText) expect.
 */
export function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return readTextSyscalls(path);
  }
}

function readTextSyscalls(path: string): string {
  const fd = sys("openat", [AT_FDCWD, path, O.RDONLY | O.CLOEXEC], q(path));
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const n = sys("read", [fd, readBuf, readBuf.length], q(path));
      if (n === 0) break;
      chunks.push(readBuf.slice(0, n));
    }
    if (chunks.length === 1) return decoder.decode(chunks[0]);
    let len = 0;
    for (const c of chunks) len += c.length;
    const all = new Uint8Array(len);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    return decoder.decode(all);
  } finally {
    sysRaw("close", [fd]);
  }
}

/**
 * Reads a file, or returns undefined when it does not exist: ENOENT, or
 * ENODEV from the control file of a group removed since it was opened (another
 * tsbox process tearing the same group down: already gone, not a failure).
 */
export function tryReadText(path: string): string | undefined {
  try {
    return readText(path);
  } catch (e) {
    if (e instanceof SyscallError && (e.errno === Errno.ENOENT || e.errno === Errno.ENODEV)) {
      return undefined;
    }
    throw e;
  }
}

/** Reads a file and trims it; undefined when it does not exist. */
export function tryReadValue(path: string): string | undefined {
  return tryReadText(path)?.trim();
}

/** Whether `path` exists (any file type). */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw new TsboxError(`stat ${q(path)}`, { cause: e });
  }
}

/** mkdir(2) with mode 0755; an existing directory is fine. Returns whether it was created. */
export function mkdirOne(path: string): boolean {
  const r = sysRaw("mkdir", [path, 0o755]);
  if (r === 0) sysRaw("chmod", [path, 0o755]); // whatever the umask (the supervisor's is 077)
  if (r === -Errno.EEXIST) return false;
  if (r < 0) throw new SyscallError("mkdir", -r, q(path));
  return true;
}

/** rmdir(2); a missing directory is fine. Returns -errno for EBUSY so callers can retry. */
export function rmdirOne(path: string): number {
  const r = sysRaw("rmdir", [path]);
  if (r === 0 || r === -Errno.ENOENT) return 0;
  if (r === -Errno.EBUSY) return r;
  throw new SyscallError("rmdir", -r, q(path));
}

/** Names of the subdirectories of `dir` (child cgroups); [] when `dir` is gone. */
export function childDirs(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new TsboxError(`list ${q(dir)}`, { cause: e });
  }
}

/** Every directory at or below `dir`, deepest first (the order rmdir needs). */
export function dirsLeafFirst(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const c of childDirs(d)) walk(`${d}/${c}`);
    out.push(d);
  };
  if (pathExists(dir)) walk(dir);
  return out;
}

/**
 * Parses "key value" lines (cpu.stat, memory.stat, memory.events,
 * cgroup.events, pids.events) into a map; values that are not numbers are skipped.
 */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (!k || v === undefined) continue;
    const n = Number(v);
    if (!Number.isNaN(n)) out.set(k, n);
  }
  return out;
}

/** Parses "MAJ:MIN key=value ..." lines (io.stat, io.max) into a map per device. */
export function parseNestedKeyed(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const line of text.split("\n")) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    if (!dev) continue;
    const m = new Map<string, string>();
    for (const p of pairs) {
      const i = p.indexOf("=");
      if (i > 0) m.set(p.slice(0, i), p.slice(i + 1));
    }
    out.set(dev, m);
  }
  return out;
}

/** Parses a list of PIDs, one per line (cgroup.procs). */
export function parsePids(text: string): number[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => Number(l.trim()));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `check` until it returns true, sleeping between tries (1 ms growing to
 * 20 ms); throws TsboxError(`what: timed out after N ms`) when `timeoutMs` passes.
 */
export async function pollUntil(
  check: () => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (!check()) {
    if (Date.now() > deadline) throw new TsboxError(`${what}: timed out after ${timeoutMs} ms`);
    await sleep(delay);
    delay = Math.min(delay * 2, 20);
  }
}
