// The truth about a container's process, whatever the record says: a pid
// counts only if it is alive, from this boot, and started when the record
// says (pids are reused). A record left "running" by a tsbox process that
// died is corrected here, so `ps` never shows a ghost.

import { sysRaw } from "../../ffi/syscall.ts";
import { Errno } from "../../ffi/errno.ts";
import {
  type ContainerRecord,
  type ContainerUpdate,
  getContainer,
  listResources,
  removeResource,
  updateContainer,
  updateContainerIf,
} from "../state/containers.ts";
import { now } from "../state/db.ts";
import { runRoot } from "../paths.ts";
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

/**
 * Whether a supervisor runs for this state root: it holds an flock on
 * supervisor.lock, which /proc/locks shows (read-only: probing with flock
 * could make a starting supervisor think another one runs).
 */
export function supervisorAlive(): boolean {
  let ino: number | null;
  try {
    ino = Deno.statSync(`${runRoot()}/supervisor.lock`).ino;
  } catch {
    return false;
  }
  if (ino === null) return false;
  try {
    return Deno.readTextFileSync("/proc/locks").split("\n").some((l) =>
      l.includes("FLOCK") && l.includes(`:${ino} `)
    );
  } catch {
    return false;
  }
}

/**
 * The record, corrected if its process ended without anyone recording it.
 * While a supervisor runs it is the one that records exits (and restarts),
 * so nothing is corrected then: a process that just ended is the
 * supervisor's to record, not a ghost.
 */
export function reconcile(rec: ContainerRecord): ContainerRecord {
  const active = rec.status === "running" || rec.status === "paused" || rec.status === "restarting";
  if (rec.status === "created") {
    const starter = listResources(rec.id).find((r) => r.kind === "starter");
    if (
      starter &&
      !processAlive({
        pid: Number(starter.key),
        pidStart: (starter.data.start as string | null) ?? null,
        bootId: null,
      })
    ) {
      removeResource(rec.id, "starter", starter.key);
      if (!processAlive(rec)) {
        updateContainer(rec.id, {
          pid: null,
          error: `the tsbox process starting it (pid ${starter.key}) died before it ran`,
        });
      }
      return getContainer(rec.id) ?? rec;
    }
  }
  const starting = rec.status === "created" && rec.pid !== null;
  if (!active && !starting) return rec;
  if (processAlive(rec) || supervisorAlive()) return rec;
  const rebooted = rec.bootId !== null && rec.bootId !== bootId();
  let update: ContainerUpdate;
  if (starting) {
    update = {
      pid: null,
      error: `the tsbox process starting it (as pid ${rec.pid}) died before it ran`,
    };
  } else if (rec.status === "restarting") {
    // Its restart was due, but no supervisor is left to do it.
    update = { status: "exited", error: "its restart was pending when its supervisor died" };
  } else {
    update = {
      status: rebooted ? "exited" : "dead",
      pid: null,
      finishedAt: rec.finishedAt ?? now(),
      error: rebooted
        ? "the host rebooted while it ran"
        : "its process ended while no tsbox process watched it",
    };
  }
  // Only if the record is still what we looked at (another tsbox may have recorded the exit meanwhile).
  updateContainerIf(rec.id, rec, update);
  return getContainer(rec.id) ?? rec;
}
