// The containers as a front end lists them: every record, reconciled with
// the kernel (a process that ended unrecorded reads as dead), and the ones
// with live processes (running or paused), whose namespaces and cgroups
// can be looked into. Used by `tsbox network diagram`, `explain` and `ui`.

import { type ContainerRecord, listContainers } from "../state/containers.ts";
import { hasProcess } from "./state_machine.ts";
import { reconcile } from "./status.ts";

/** Every container, newest first, reconciled. */
export function allContainers(): ContainerRecord[] {
  return listContainers().map(reconcile);
}

/** Whether the container has live processes now (running or paused). */
export function isLive(c: ContainerRecord): boolean {
  return hasProcess(c);
}

/** The containers with live processes. */
export function liveContainers(
  all: readonly ContainerRecord[] = allContainers(),
): ContainerRecord[] {
  return all.filter(isLive);
}
