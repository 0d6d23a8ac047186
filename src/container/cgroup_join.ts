// How a new process joins an existing container group before its first
// instruction: clone3 CLONE_INTO_CGROUP for the v2 hierarchy, and the process
// writes "0" to the v1 hierarchies' files itself while it waits on the sync
// pipe (src/runtime/executor.ts, exec.ts). Shared by every front end's
// start and exec (the Docker path through cgroup.ts, the OCI runtime through
// src/container/oci/); kept apart from cgroup.ts so that the OCI path does
// not load the state database. Documentation/admin-guide/cgroup-v2.rst,
// clone3(2) CLONE_INTO_CGROUP, cgroup-v1/cgroups.rst.

import { sysRaw } from "../../ffi/syscall.ts";
import { cgroupHost } from "../cgroups/open.ts";

/** How a new process joins a container's group before its first instruction. */
export interface JoinPlan {
  /** Group path relative to the hierarchy roots. */
  path: string;
  /** A cgroup v2 directory fd for clone3 CLONE_INTO_CGROUP (none on legacy hosts). */
  dirFd?: number;
  /**
   * Files of the v1 hierarchies the child writes "0" to, moving itself: a
   * process moving itself skips the global cgroup_threadgroup_rwsem and its
   * RCU grace period (about 1.5 ms per hierarchy when the parent writes the
   * child's pid instead). See cgroup_procs_write_start().
   */
  selfJoin: string[];
  /** Moves `pid` into the group, in every hierarchy (when clone3 could not start it there). */
  place(pid: number): void;
  /** Releases fds held for the join. */
  close(): void;
}

/**
 * How a new process joins the existing group `path`: the same driver calls
 * for a container's first process and for `exec`. Close the plan when done.
 *
 * @example const join = joinPlan("tsbox/abc"); try { ... } finally { join.close(); }
 */
export function joinPlan(path: string): JoinPlan {
  const { driver } = cgroupHost();
  let dirFd = driver.cgroupDirFd(path);
  return {
    path,
    ...(dirFd !== undefined ? { dirFd } : {}),
    selfJoin: driver.selfJoinFiles(path),
    place: (pid) => driver.addProcess(path, pid),
    close: () => {
      if (dirFd !== undefined) sysRaw("close", [dirFd]);
      dirFd = undefined;
    },
  };
}
