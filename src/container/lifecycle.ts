// Lifecycle operations on existing containers (rm, and later stop, kill,
// start, pause). Allowed transitions, as runc's state machine:
//
//   created ──start──▶ running ──pause──▶ paused
//      │                 │  ▲              │
//      │                 │  └──unpause─────┘
//      │               exit/stop/kill
//      ▼                 ▼
//    (rm) ◀────────── exited/dead ──start──▶ running
//
// An operation not allowed in the current state fails before any side
// effect, e.g. "cannot pause web: container is stopped".

import { SIGKILL } from "../../ffi/constants.ts";
import { TsboxError } from "../errors.ts";
import { findContainer, updateContainer } from "../state/containers.ts";
import { now } from "../state/db.ts";
import { destroyContainer } from "./remove.ts";
import { signalContainer, waitGone } from "./signal.ts";
import { reconcile } from "./status.ts";

/** Removes a container; a running one only with `force` (killed with SIGKILL first). */
export async function removeContainer(ref: string, force: boolean): Promise<void> {
  const rec = reconcile(findContainer(ref));
  if (rec.status === "running" || rec.status === "paused" || rec.status === "restarting") {
    if (!force) {
      throw new TsboxError(
        `cannot remove container "${rec.name}": container is ${rec.status}: stop the container before removing or force remove`,
        { exitCode: 1 },
      );
    }
    signalContainer(rec, SIGKILL);
    if (!(await waitGone(rec, 10_000))) {
      throw new TsboxError(`container ${rec.name} did not die after SIGKILL`);
    }
    updateContainer(rec.id, { status: "exited", exitCode: 137, finishedAt: now(), pid: null });
  }
  await destroyContainer(rec.id);
}
