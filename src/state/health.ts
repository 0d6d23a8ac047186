// The state database's bad days: a full disk, and a database that is
// missing, empty or damaged while the state root still holds containers and
// images. tsbox never starts over silently: it says what is wrong at once,
// changes nothing, and points to `tsbox system check` / `system repair`.
//
// A full disk must not stop tsbox from stopping what fills it: each state
// root keeps a small reserve file (RESERVE_BYTES); a write that is essential
// (recording a stop, an exit, a removal) and finds the disk full deletes the
// reserve and tries once more. The reserve is made again when the disk has
// room (at the next open with twice its size free).

import { sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";

/** Size of the reserve file kept in each state root. */
export const RESERVE_BYTES = 4 * 1024 * 1024;

/** The reserve file of a state root. */
export function reservePath(root: string): string {
  return `${root}/reserve`;
}

/** Whether `e` (or a cause) is SQLite's or the kernel's "disk full". */
export function isDiskFull(e: unknown): boolean {
  for (let c = e; c instanceof Error; c = c.cause) {
    if (/database or disk is full|No space left on device|ENOSPC|EDQUOT/.test(c.message)) {
      return true;
    }
  }
  return false;
}

/** Whether `e` is SQLite saying the file is not a usable database. */
export function isDamaged(e: unknown): boolean {
  return e instanceof Error &&
    /malformed|file is not a database|database disk image|unsupported file format/.test(e.message);
}

/** The error for a full disk under the state root. */
export function diskFullError(root: string, cause: unknown): TsboxError {
  return new TsboxError(`the disk of the state root ${JSON.stringify(root)} is full`, { cause });
}

/** The error for a damaged database. */
export function damagedError(path: string, cause: unknown): TsboxError {
  return new TsboxError(
    `the state database ${
      JSON.stringify(path)
    } is damaged, and was left as it is (see "tsbox system check"; "tsbox system repair" rebuilds what the directories hold)`,
    { cause },
  );
}

function entries(dir: string): number {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync(dir)) n++;
    return n;
  } catch {
    return 0;
  }
}

/**
 * Refuses to open a database that is missing while the state root holds
 * containers, or empty while it holds containers or images (it was deleted
 * or truncated: opening it would make an empty state and orphan them).
 * Throws TsboxError; changes nothing.
 */
export function checkBeforeOpen(root: string, path: string): void {
  let size: number | undefined;
  try {
    size = Deno.statSync(path).size;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (size !== undefined && size > 0) {
    const why = headerProblem(path, size);
    if (why) throw damagedError(path, new Error(why));
    return;
  }
  const containers = entries(`${root}/containers`);
  // A missing database is judged by containers only: an image's layers are
  // written before its first record (the first `import` or `pull` of a root).
  const images = size === undefined ? 0 : entries(`${root}/images`) + entries(`${root}/layers`);
  if (containers + images === 0) return;
  throw new TsboxError(
    `the state database ${JSON.stringify(path)} is ${
      size === undefined ? "missing" : "empty"
    }, but the state root holds ${containers} containers and ${images} images or layers: it was lost or damaged, and nothing was changed (see "tsbox system check"; "tsbox system repair" rebuilds what the directories hold)`,
  );
}

/**
 * What is wrong with the database file's header, if anything: not SQLite's
 * magic, or a file shorter than the pages its header counts (truncated;
 * SQLite would read the missing pages as zeros and fail only on the query
 * that touches one). See https://www.sqlite.org/fileformat.html section 1.3.
 */
export function headerProblem(path: string, size: number): string | undefined {
  // While another process checkpoints its write-ahead log, it may write the
  // header before the pages it counts: a short file with a log beside it is
  // judged again after a moment (a truncated file stays short).
  for (let attempt = 0;; attempt++) {
    const why = readHeaderProblem(path, size);
    if (!why || attempt === 5 || !exists(`${path}-wal`)) return why;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    try {
      size = Deno.statSync(path).size;
    } catch {
      return undefined; // gone meanwhile: SQLite says what it finds
    }
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readHeaderProblem(path: string, size: number): string | undefined {
  const h = new Uint8Array(100);
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path);
  } catch {
    return undefined; // not readable: SQLite says why
  }
  let n = 0;
  try {
    while (n < h.length) {
      const r = f.readSync(h.subarray(n));
      if (!r) break;
      n += r;
    }
  } finally {
    f.close();
  }
  if (n < 100 || new TextDecoder().decode(h.subarray(0, 16)) !== "SQLite format 3\0") {
    return "not an SQLite database (its header is missing)";
  }
  const dv = new DataView(h.buffer);
  const pageSize = dv.getUint16(16) === 1 ? 65536 : dv.getUint16(16);
  const pages = dv.getUint32(28);
  // The header's page count is valid only when its two change counters agree.
  if (dv.getUint32(24) !== dv.getUint32(92) || pages === 0) return undefined;
  if (size < pages * pageSize) {
    return `truncated: ${size} bytes where its header counts ${pages} pages of ${pageSize} bytes`;
  }
  return undefined;
}

/** Makes the reserve file when it is missing and the disk has room for it twice over. */
export function ensureReserve(root: string): void {
  const path = reservePath(root);
  try {
    if (Deno.statSync(path).size >= RESERVE_BYTES) return;
  } catch { /* missing */ }
  try {
    // Only with room to spare: the reserve must never be what fills the disk.
    const free = freeBytes(root);
    if (free !== undefined && free < 2 * RESERVE_BYTES) return;
    Deno.writeFileSync(path, new Uint8Array(RESERVE_BYTES), { mode: 0o600 });
  } catch {
    try {
      Deno.removeSync(path);
    } catch { /* none */ }
  }
}

/** Deletes the reserve file; returns whether there was one to give back. */
export function releaseReserve(root: string): boolean {
  try {
    Deno.removeSync(reservePath(root));
    return true;
  } catch {
    return false;
  }
}

/**
 * Free bytes of the filesystem of `dir` for an unprivileged writer (statfs(2):
 * f_bavail * f_bsize), or undefined when unknown.
 */
function freeBytes(dir: string): number | undefined {
  const buf = new BigUint64Array(15); // struct statfs on x86_64: 120 bytes
  if (sysRaw("statfs", [dir, buf]) !== 0) return undefined;
  return Number(buf[4]! * buf[1]!); // f_bavail * f_bsize
}
