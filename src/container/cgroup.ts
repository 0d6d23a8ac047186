// The container's cgroup: made before the container starts (recorded as a
// resource first), the first process placed in it before its first
// instruction (clone3 CLONE_INTO_CGROUP on v2, or by the parent while the
// child waits), and removed with the container.
// TODO(issue 5): resource flags, groups, OOM detection.

import type { Tracer } from "../runtime/trace.ts";
import type { Created } from "./create.ts";

/** A prepared cgroup. */
export interface CgroupPlan {
  /** Group path relative to the hierarchy roots. */
  path: string;
  /** A cgroup v2 directory fd for clone3 CLONE_INTO_CGROUP. */
  dirFd?: number;
  /** Mount cgroup2 inside the container. */
  mountCgroup2: boolean;
  /** Moves `pid` into the group. */
  place(pid: number): void;
  /** Releases fds held for the start. */
  close(): void;
}

/** Creates the container's cgroup; undefined when cgroups are not managed. */
export function prepareCgroup(_c: Created, _trace: Tracer): CgroupPlan | undefined {
  return undefined;
}
