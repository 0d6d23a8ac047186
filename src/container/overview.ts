// The containers as a front end lists them: every record, reconciled with
// the kernel (a process that ended unrecorded reads as dead), and the ones
// with live processes (running or paused), whose namespaces and cgroups
// can be looked into. Used by `tsbox network diagram`, `explain` and `ui`.

import { type ContainerRecord, listContainers } from "../state/containers.ts";
import { state } from "../state/db.ts";
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

/**
 * The containers for a poller (the feed of `tsbox ui`): listed again only
 * when another process changed the state (the CLI, the supervisor recording
 * an exit: PRAGMA data_version), when told (after our own changes), or when
 * the list is older than `maxAgeMs` (a process that died unrecorded).
 */
export class ContainerWatch {
  #list: ContainerRecord[] = [];
  #version = -1;
  #at = 0;
  readonly maxAgeMs: number;

  constructor(maxAgeMs = 5000) {
    this.maxAgeMs = maxAgeMs;
  }

  /** Forget the list (after a change made by this process). */
  invalidate(): void {
    this.#version = -1;
  }

  /** The list, listed again when needed; `changed` says whether it was. */
  current(): { list: ContainerRecord[]; changed: boolean } {
    const version = state().dataVersion();
    if (version === this.#version && Date.now() - this.#at < this.maxAgeMs) {
      return { list: this.#list, changed: false };
    }
    this.#list = allContainers();
    this.#version = version;
    this.#at = Date.now();
    return { list: this.#list, changed: true };
  }
}
