// The truth about a container's process, whatever the record says: a pid
// counts only if it is alive, from this boot, and started when the record
// says (pids are reused). A record left "running" by a tsbox process that
// died is corrected here, so `ps` never shows a ghost.

import { sysRaw } from "../../ffi/syscall.ts";
import { Errno } from "../../ffi/errno.ts";
import { type ContainerRecord, getContainer, updateContainer } from "../state/containers.ts";
import { now } from "../state/db.ts";
import { bootId, processStartTime } from "./proc.ts";

/** Whether the record's process is alive (same boot, same start time). */
export function processAlive(rec: Pick<ContainerRecord, "pid" | "pidStart" | "bootId">): boolean {
  if (!rec.pid) return false;
  if (rec.bootId && rec.bootId !== bootId()) return false;
  const start = processStartTime(rec.pid);
  if (start === null) return false;
  if (rec.pidStart && start !== rec.pidStart) return false;
  // A zombie is not running.
  try {
    const stat = Deno.readTextFileSync(`/proc/${rec.pid}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
  } catch {
    return false;
  }
  return sysRaw("kill", [rec.pid, 0]) !== -Errno.ESRCH;
}

/** The record, corrected if its process died without anyone recording it. */
export function reconcile(rec: ContainerRecord): ContainerRecord {
  if (
    (rec.status === "running" || rec.status === "paused" || rec.status === "restarting") &&
    !processAlive(rec)
  ) {
    const reason = rec.bootId && rec.bootId !== bootId()
      ? "the host rebooted while it ran"
      : "its process ended while no tsbox process watched it";
    updateContainer(rec.id, {
      status: rec.bootId && rec.bootId !== bootId() ? "exited" : "dead",
      pid: null,
      finishedAt: rec.finishedAt ?? now(),
      error: reason,
    });
    return getContainer(rec.id) ?? rec;
  }
  return rec;
}
