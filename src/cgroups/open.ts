// Picks the cgroup driver for this host from /proc/self/mountinfo
// (src/cgroups/detect.ts): v1 on legacy hosts, v2 on unified hosts, and the
// hybrid driver on hosts that have both. Documentation/admin-guide/cgroup-v2.rst.

import { type CgroupLayout, detectCgroups } from "./detect.ts";
import type { CgroupDriver } from "./driver.ts";
import type { HostInfo } from "./host.ts";
import { HybridDriver } from "./hybrid.ts";
import { V1Driver } from "./v1/driver.ts";
import { V2Driver } from "./v2/driver.ts";

/** Options shared by every driver. */
export interface OpenOptions {
  /** Online CPUs and nodes (default: read from sysfs). */
  host?: HostInfo;
  /** How long freeze, kill and destroy wait (default 10 s). */
  timeoutMs?: number;
}

/** The driver for `layout`. */
export function driverFor(layout: CgroupLayout, opts: OpenOptions = {}): CgroupDriver {
  switch (layout.mode) {
    case "legacy":
      return new V1Driver({ mounts: layout.v1, ...opts });
    case "unified":
      return new V2Driver({ root: layout.v2Root!, ...opts });
    case "hybrid":
      return new HybridDriver({ mounts: layout.v1, v2Root: layout.v2Root!, ...opts });
  }
}

/**
 * Detects the cgroup layout (from `mountinfoText`, default
 * /proc/self/mountinfo) and returns its driver.
 *
 * @example
 * const cg = openCgroups();
 * cg.create("tsbox/abc", { pids: { limit: 100 } });
 * Requires --allow-read and --allow-ffi; changing cgroups requires root.
 */
export function openCgroups(mountinfoText?: string, opts: OpenOptions = {}): CgroupDriver {
  return driverFor(detectCgroups(mountinfoText), opts);
}

let cached: { mountinfo: string; layout: CgroupLayout; driver: CgroupDriver } | undefined;

/**
 * The host's cgroup layout and driver, detected from /proc/self/mountinfo
 * again only when that changed (the supervisor lives long; a hierarchy may be
 * mounted meanwhile). Requires root to change anything.
 */
export function cgroupHost(): { layout: CgroupLayout; driver: CgroupDriver } {
  const mountinfo = Deno.readTextFileSync("/proc/self/mountinfo");
  if (cached?.mountinfo !== mountinfo) {
    const layout = detectCgroups(mountinfo);
    cached = { mountinfo, layout, driver: driverFor(layout) };
  }
  return cached;
}
