// One supervisor per state root: it holds a write lock on
// $TSBOX_ROOT/supervisor.lock for its whole life. The lock is on a file of
// the state root, not the run root, so deleting the run root (or pointing
// TSBOX_RUNROOT elsewhere) can never let a second supervisor start for the
// same containers. The kernel drops the lock when its holder dies, so a crash
// never leaves it taken.
//
// It is a POSIX record lock (fcntl F_SETLK), not flock(2), because F_GETLK
// tells any process who holds it (its pid) without taking it; the other way
// to see an flock, /proc/locks, costs an RCU grace period (~10 ms) on every
// read, on every command's path. A POSIX lock goes away when its process
// closes *any* fd of the file, so the holder never opens the file again
// (lockHolder answers for itself from memory). See fcntl(2) "Advisory record
// locking".

import { O } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { stateRoot } from "../paths.ts";

const F_GETLK = 5, F_SETLK = 6;
const F_WRLCK = 1, F_UNLCK = 2;
const SEEK_SET = 0;

/** The supervisor's lock file. */
export function lockPath(): string {
  return `${stateRoot()}/supervisor.lock`;
}

/** struct flock (x86_64): l_type i16 @0, l_whence i16 @2, l_start i64 @8, l_len i64 @16, l_pid i32 @24. */
function flock(type: number): Uint8Array {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setInt16(0, type, true);
  dv.setInt16(2, SEEK_SET, true);
  // l_start 0, l_len 0: the whole file.
  return b;
}

/** Set while this process holds the lock (it must not open the file again). */
let held: { fd: number; path: string } | undefined;

/**
 * The pid of the supervisor of this state root (the holder of its lock), or
 * undefined when none runs. 0 when one runs in a PID namespace we cannot see.
 */
export function lockHolder(path = lockPath()): number | undefined {
  if (held?.path === path) return Deno.pid;
  const fd = sysRaw("open", [path, O.RDWR | O.CLOEXEC]);
  if (fd < 0) return undefined; // no lock file: no supervisor ever ran here
  try {
    const fl = flock(F_WRLCK);
    if (sysRaw("fcntl", [fd, F_GETLK, fl]) !== 0) return undefined;
    const dv = new DataView(fl.buffer);
    return dv.getInt16(0, true) === F_UNLCK ? undefined : dv.getInt32(24, true);
  } finally {
    sysRaw("close", [fd]);
  }
}

/**
 * Takes the lock without waiting; returns its fd (kept open for the
 * supervisor's life) or undefined when another process holds it.
 */
export function tryTakeLock(path = lockPath()): number | undefined {
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const fd = sys("open", [path, O.RDWR | O.CREAT | O.CLOEXEC, 0o600]);
  const r = sysRaw("fcntl", [fd, F_SETLK, flock(F_WRLCK)]);
  if (r === 0) {
    held = { fd, path };
    return fd;
  }
  sysRaw("close", [fd]);
  if (r === -Errno.EAGAIN || r === -Errno.EACCES) return undefined;
  throw new SyscallError("fcntl", -r, `F_SETLK ${JSON.stringify(path)}`);
}

/** Releases the lock (closing its fd). */
export function releaseLock(fd: number): void {
  if (held?.fd === fd) held = undefined;
  sysRaw("close", [fd]);
}
