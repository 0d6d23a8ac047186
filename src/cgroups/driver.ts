// The one interface every cgroup driver implements (STYLE.md point 5): the
// v1 driver (src/cgroups/v1/), the v2 driver (src/cgroups/v2/) and the hybrid
// driver (src/cgroups/hybrid.ts). Group paths are relative to the root of each
// hierarchy ("tsbox/abc"), the way /proc/PID/cgroup shows them.
// Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/cgroups.rst.

import { UsageError } from "../errors.ts";
import type { CgroupResources } from "./resources.ts";

/** How cgroups are mounted on this host (src/cgroups/detect.ts). */
export type CgroupMode = "legacy" | "hybrid" | "unified";

/** Freezer state of a group. */
export type FreezerState = "frozen" | "thawed";

/** Figures of a group, as `docker stats` shows them. Missing controllers read 0. */
export interface CgroupStats {
  cpu: {
    /** Total CPU time, nanoseconds. */
    usageNs: number;
    /** CPU time per CPU, nanoseconds (v1 cpuacct only). */
    perCpuNs?: number[];
    /** User and system CPU time, nanoseconds. */
    userNs?: number;
    systemNs?: number;
    /** CFS bandwidth throttling (cpu.stat). */
    throttled?: { periods: number; throttledPeriods: number; throttledNs: number };
  };
  memory: {
    /** Bytes in use. */
    usage: number;
    /** Limit in bytes; null for none. */
    limit: number | null;
    /** Peak usage in bytes (v1 max_usage_in_bytes, v2 memory.peak). */
    maxUsage?: number;
    /** Page cache bytes. */
    cache?: number;
    /** Inactive file-backed bytes (reclaimable first; `docker stats` leaves them out). */
    inactiveFile?: number;
  };
  pids: { current: number; limit: number | null };
  blkio: { readBytes: number; writeBytes: number; readOps: number; writeOps: number };
  /** Processes the OOM killer killed in this group. */
  oomKills: number;
}

/** Empty figures, filled in by the controllers. */
export function emptyStats(): CgroupStats {
  return {
    cpu: { usageNs: 0 },
    memory: { usage: 0, limit: null },
    pids: { current: 0, limit: null },
    blkio: { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 },
    oomKills: 0,
  };
}

/**
 * A cgroup manager for one host layout. All methods take a group path
 * relative to the hierarchy roots given to the driver's constructor, so a
 * test can point a driver at a temp-dir fixture. Methods that change the
 * kernel need root.
 *
 * @example
 * const cg = openCgroups();
 * cg.create("tsbox/abc", { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 100 } });
 * cg.addProcess("tsbox/abc", pid);
 * await cg.destroy("tsbox/abc");
 */
export interface CgroupDriver {
  /** The host layout this driver serves. */
  readonly mode: CgroupMode;
  /** Checks `resources` against this host and the group's parent; throws UsageError. Changes nothing. */
  validate(path: string, resources: CgroupResources): void;
  /**
   * Creates the group and missing ancestors, then applies `resources`.
   * v1: in every mounted hierarchy, copying cpuset.cpus/mems down first.
   * v2: enables the needed controllers in each ancestor's cgroup.subtree_control.
   */
  create(path: string, resources?: CgroupResources): void;
  /** Moves process `pid` (and its threads) into the group. */
  addProcess(path: string, pid: number): void;
  /** Writes `resources` into an existing group. */
  apply(path: string, resources: CgroupResources): void;
  /** Freezes every process of the group and waits until the kernel reports it frozen. */
  freeze(path: string): Promise<void>;
  /** Thaws the group and waits until it is thawed. */
  thaw(path: string): Promise<void>;
  /** Whether the group is frozen. */
  state(path: string): FreezerState;
  /** Usage figures of the group. */
  stats(path: string): CgroupStats;
  /** PIDs of every process in the group and its descendants, sorted. */
  pids(path: string): number[];
  /** SIGKILLs every process of the group and its descendants; resolves when the group is empty. */
  kill(path: string): Promise<void>;
  /** Kills what is left, then removes the group and its descendants in every hierarchy. Missing is fine. */
  destroy(path: string): Promise<void>;
  /** Whether the group exists. */
  exists(path: string): boolean;
  /** How many times the OOM killer killed a process of the group. */
  oomEvents(path: string): number;
  /**
   * An O_PATH|O_DIRECTORY|O_CLOEXEC fd of the group in the v2 hierarchy, for
   * clone3(CLONE_INTO_CGROUP); undefined on a legacy (v1-only) host. The
   * caller closes it. On hybrid hosts the v1 groups still need addProcess.
   */
  cgroupDirFd(path: string): number | undefined;
  /**
   * Files a process writes "0" to in order to move itself into the group:
   * `tasks` of every v1 hierarchy (a process moving itself skips the
   * cgroup_threadgroup_rwsem RCU wait a move by another process pays). The
   * v2 part is joined through cgroupDirFd. [] on unified hosts.
   */
  selfJoinFiles(path: string): string[];
  /** The group's path as /proc/PID/cgroup shows it ("/tsbox/abc"). */
  procPath(path: string): string;
  /** Every directory that backs the group, one per hierarchy (for display and leak checks). */
  dirs(path: string): string[];
}

/**
 * Normalizes a group path: no leading or trailing "/", no empty, "." or ".."
 * parts. Throws UsageError on a path that would leave the hierarchy or name its root.
 *
 * @example normalizePath("/tsbox/abc/") // "tsbox/abc"
 */
export function normalizePath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.length === 0) {
    throw new UsageError(`invalid cgroup path ${JSON.stringify(path)}: it names the root`);
  }
  for (const p of parts) {
    if (p === "." || p === ".." || p.includes("\0")) {
      throw new UsageError(
        `invalid cgroup path ${JSON.stringify(path)}: "." and ".." are not allowed`,
      );
    }
  }
  return parts.join("/");
}

/** The ancestors of a normalized path, outermost first, including the path itself. */
export function pathPrefixes(path: string): string[] {
  const parts = path.split("/");
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}
