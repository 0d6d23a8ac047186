// Signalling a container's first process from any tsbox process (not only
// its parent): pidfd_open(2) after checking the pid is still the one recorded,
// then pidfd_send_signal(2); an exit is awaited by polling the pidfd.

import { Errno } from "../../ffi/errno.ts";
import { sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { readable, signalPidfd } from "../runtime/process.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { processAlive } from "./status.ts";

/** A pidfd for the container's process, or undefined if it is gone. */
export function openContainerPidfd(rec: ContainerRecord): number | undefined {
  if (!processAlive(rec)) return undefined;
  const fd = sysRaw("pidfd_open", [rec.pid!, 0]);
  if (fd === -Errno.ESRCH) return undefined;
  if (fd < 0) throw new TsboxError(`open a pidfd for pid ${rec.pid}: errno ${-fd}`);
  // The pid could have been reused between the check and the open: check again.
  if (!processAlive(rec)) {
    sysRaw("close", [fd]);
    return undefined;
  }
  return fd;
}

/** Sends `signal`; returns false if the process was already gone. */
export function signalContainer(rec: ContainerRecord, signal: number): boolean {
  const fd = openContainerPidfd(rec);
  if (fd === undefined) return false;
  try {
    signalPidfd(fd, signal);
    return true;
  } finally {
    sysRaw("close", [fd]);
  }
}

/** Waits up to `timeoutMs` for the process to end; returns whether it did. */
export async function waitGone(rec: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const fd = openContainerPidfd(rec);
  if (fd === undefined) return true;
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A pidfd polls readable once the process has exited.
      if (readable(fd, 0)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, deadline - Date.now()))));
    }
  } finally {
    sysRaw("close", [fd]);
  }
}
