// `pause` and `unpause`: freeze and thaw every process of a container's
// cgroup, through the driver's freezer (v1 freezer.state, or cgroup.freeze on
// v2), waiting until the kernel reports the new state. The record says
// "paused" while frozen, which `ps` shows as "Up ... (Paused)".
// Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst;
// cgroup-v2.rst ("cgroup.freeze").

import { TsboxError } from "../errors.ts";
import { type ContainerRecord, findContainer, updateContainer } from "../state/containers.ts";
import { emitEvent } from "../state/events.ts";
import { cgroupHost, containerCgroup } from "./cgroup.ts";
import { checkTransition } from "./state_machine.ts";
import { reconcile } from "./status.ts";

function groupOf(rec: ContainerRecord, op: string): string {
  const path = containerCgroup(rec);
  if (!path || !cgroupHost().driver.exists(path)) {
    throw new TsboxError(`cannot ${op} ${rec.name}: the container has no cgroup`);
  }
  return path;
}

/**
 * Freezes every process of a running container. Requires root.
 *
 * @example await pauseContainer("web"); // ps: "Up 2 minutes (Paused)"
 */
export async function pauseContainer(ref: string): Promise<void> {
  const rec = reconcile(findContainer(ref));
  checkTransition("pause", rec);
  const path = groupOf(rec, "pause");
  try {
    await cgroupHost().driver.freeze(path);
  } catch (e) {
    throw new TsboxError(`cannot pause ${rec.name}`, { cause: e });
  }
  updateContainer(rec.id, { status: "paused" });
  emitEvent("pause", rec.id, { name: rec.name, image: rec.image });
}

/** Thaws a paused container. Requires root. */
export async function unpauseContainer(ref: string): Promise<void> {
  const rec = reconcile(findContainer(ref));
  checkTransition("unpause", rec);
  const path = groupOf(rec, "unpause");
  try {
    await cgroupHost().driver.thaw(path);
  } catch (e) {
    throw new TsboxError(`cannot unpause ${rec.name}`, { cause: e });
  }
  updateContainer(rec.id, { status: "running" });
  emitEvent("unpause", rec.id, { name: rec.name, image: rec.image });
}
