// Waiting for and signalling processes through pidfds (pidfd_open(2),
// pidfd_send_signal(2), waitid(2) with P_PIDFD): a pidfd always names the
// process it was made for, even after its pid is reused.

import {
  CLD_DUMPED,
  CLD_EXITED,
  CLD_KILLED,
  P_PIDFD,
  SIGKILL,
  WEXITED,
  WNOHANG,
} from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, sysAsync, sysRaw } from "../../ffi/syscall.ts";

/** How a process ended. */
export interface ExitStatus {
  /** Exit code, or 128 + signal number when killed (the shell's convention). */
  code: number;
  /** The signal that killed it, if any. */
  signal?: number;
}

function decode(si: Uint8Array): ExitStatus {
  const dv = new DataView(si.buffer);
  const code = dv.getInt32(8, true);
  const status = dv.getInt32(24, true);
  if (code === CLD_EXITED) return { code: status };
  if (code === CLD_KILLED || code === CLD_DUMPED) return { code: 128 + status, signal: status };
  return { code: status };
}

/** Waits (without blocking JavaScript) until the process of `pidfd` ends; reaps it. */
export async function waitPidfd(pidfd: number): Promise<ExitStatus> {
  const si = new Uint8Array(128);
  for (;;) {
    const r = await sysAsync("waitid", [P_PIDFD, pidfd, si, WEXITED]).catch((e) => e);
    if (typeof r === "number") return decode(si);
    if (r?.errno === Errno.EINTR) continue;
    throw r;
  }
}

/** Reaps a child that has exited or is about to (blocking briefly). */
export function reap(pidfd: number): ExitStatus {
  const si = new Uint8Array(128);
  for (;;) {
    const r = sysRaw("waitid", [P_PIDFD, pidfd, si, WEXITED]);
    if (r === -Errno.EINTR) continue;
    if (r < 0) return { code: -1 };
    return decode(si);
  }
}

/** The exit status if the process has ended (and reaps it), else undefined. */
export function pollExit(pidfd: number): ExitStatus | undefined {
  const si = new Uint8Array(128);
  const r = sysRaw("waitid", [P_PIDFD, pidfd, si, WEXITED | WNOHANG]);
  if (r < 0) return undefined;
  return new DataView(si.buffer).getInt32(16, true) === 0 ? undefined : decode(si);
}

/** Sends `signal` through a pidfd; a process that is already gone is not an error. */
export function signalPidfd(pidfd: number, signal: number): void {
  const r = sysRaw("pidfd_send_signal", [pidfd, signal, null, 0]);
  if (r < 0 && r !== -Errno.ESRCH) {
    sys("pidfd_send_signal", [pidfd, signal, null, 0], `signal ${signal}`);
  }
}

/** Kills a half-started child and reaps it. */
export function killAndReap(pidfd: number): void {
  signalPidfd(pidfd, SIGKILL);
  reap(pidfd);
}

/** A pidfd for `pid` (close-on-exec). */
export function pidfdOpen(pid: number): number {
  return sys("pidfd_open", [pid, 0], `pid ${pid}`);
}

/** True if fd `fd` is readable now (poll with timeout 0). */
export function readable(fd: number, timeoutMs = 0): boolean {
  const pfd = new Int16Array([0, 0, 1, /* POLLIN */ 0]);
  new Int32Array(pfd.buffer)[0] = fd;
  return sys("poll", [pfd, 1, timeoutMs]) > 0;
}
