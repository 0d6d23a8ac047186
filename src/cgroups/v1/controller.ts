// The shape of one cgroup v1 controller module (src/cgroups/v1/<name>.ts):
// each owns the kernel file names of its controller. The v1 driver loops
// over V1_CONTROLLERS (src/cgroups/v1/driver.ts).
// Documentation/admin-guide/cgroup-v1/cgroups.rst.

import type { V1ControllerName } from "../detect.ts";
import type { CgroupStats } from "../driver.ts";
import type { CgroupResources, ResourceController } from "../resources.ts";

/** One cgroup v1 controller as the driver sees it. */
export interface V1Controller {
  /** Subsystem name, as in /proc/cgroups and the mount options. */
  readonly name: V1ControllerName;
  /** The part of the resource model it serves (v1 blkio serves "io"); undefined for none. */
  readonly serves?: ResourceController;
  /** Writes the settings of `r` that belong to this controller into group directory `dir`. */
  apply?(dir: string, r: CgroupResources): void;
  /** Adds this controller's figures for `dir` to `stats`. */
  stats?(dir: string, stats: CgroupStats): void;
  /** Prepares a group directory after mkdir (cpuset copies cpus/mems from `parentDir`). */
  prepare?(dir: string, parentDir: string): void;
}

/** A v1 counter value at or above this means "no limit" (PAGE_COUNTER_MAX in bytes is ~2^63). */
export const V1_UNLIMITED = 2 ** 62;

/** A v1 limit read back: null for "no limit". */
export function v1Limit(n: number | undefined): number | null {
  return n === undefined || n >= V1_UNLIMITED ? null : n;
}
