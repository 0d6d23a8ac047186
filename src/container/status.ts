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
import { lockHolder } from "../supervisor/lock.ts";
import { bootId, processStartTime } from "./proc.ts";
import { inBackground } from "../background.ts";
import { ensureSupervisor } from "../supervisor/client.ts";

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

/** Whether a supervisor runs for this state root (it holds the state root's lock). */
export function supervisorAlive(): boolean {
  return lockHolder() !== undefined;
}

/** Whether the container's policy restarts it after an exit whose code is unknown. */
function restartsUnwatched(rec: ContainerRecord): boolean {
  const policy = rec.config.restart.name;
  return rec.startedAt !== null && (policy === "always" || policy === "unless-stopped");
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
    // Its restart is due, but its supervisor died: start one, which does it (adopt).
    inBackground(ensureSupervisor());
    return rec;
  } else if (!rebooted && !rec.stopRequested && restartsUnwatched(rec)) {
    // Its policy restarts it whatever its code: due now, by a new supervisor.
    update = {
      status: "restarting",
      exitCode: 255,
      pid: null,
      finishedAt: now(),
      restartCount: rec.restartCount + 1,
      error: "its process ended while no tsbox process watched it (exit status unknown)",
    };
    inBackground(ensureSupervisor());
  } else {
    update = {
      status: rebooted ? "exited" : "dead",
      // Its status went to whoever reaped it: unknown, shown as Docker shows a lost one.
      exitCode: 255,
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
