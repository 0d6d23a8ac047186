// The shape of one cgroup v2 controller module (src/cgroups/v2/<name>.ts):
// each owns the kernel file names of its controller. The v2 driver loops over
// V2_CONTROLLERS (src/cgroups/v2/driver.ts).
// Documentation/admin-guide/cgroup-v2.rst ("Controllers").

import type { CgroupStats } from "../driver.ts";
import type { CgroupResources, ResourceController } from "../resources.ts";

/** One cgroup v2 controller as the driver sees it. */
export interface V2Controller {
  /** The part of the resource model it serves. */
  readonly serves: ResourceController;
  /**
   * Its name in cgroup.controllers / cgroup.subtree_control; undefined for
   * parts that need no enabling (devices is a BPF program, not a controller).
   */
  readonly controller?: string;
  /** Writes the settings of `r` that belong to this controller into group directory `dir`. */
  apply?(dir: string, r: CgroupResources): void;
  /** Adds this controller's figures for `dir` to `stats`. */
  stats?(dir: string, stats: CgroupStats): void;
}
