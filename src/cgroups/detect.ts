// Finds how cgroups are mounted, from /proc/self/mountinfo (proc(5),
// "/proc/pid/mountinfo"): cgroup2 only (unified), cgroup v1 controllers only
// (legacy), or both (hybrid: v1 controllers plus an empty cgroup2 mount such
// as /sys/fs/cgroup/unified). Documentation/admin-guide/cgroup-v2.rst
// ("Mounting") and cgroup-v1/cgroups.rst.

import { TsboxError } from "../errors.ts";
import type { CgroupMode } from "./driver.ts";

/** The cgroup v1 controllers the kernel can mount (see /proc/cgroups). */
export const V1_CONTROLLER_NAMES = [
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "net_prio",
  "blkio",
  "perf_event",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
] as const;

/** A cgroup v1 controller name. */
export type V1ControllerName = (typeof V1_CONTROLLER_NAMES)[number];

/** What detectCgroups found. */
export interface CgroupLayout {
  mode: CgroupMode;
  /** Mount point of the cgroup2 hierarchy, if mounted. */
  v2Root?: string;
  /** Mount point of each mounted v1 controller (co-mounted ones share one). */
  v1: Partial<Record<V1ControllerName, string>>;
  /** Named v1 hierarchies without controllers, e.g. { systemd: "/sys/fs/cgroup/systemd" }. */
  named: Record<string, string>;
}

/** One mountinfo line, the fields tsbox needs. */
interface MountEntry {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** Decodes the octal escapes mountinfo uses for space, tab, newline and backslash. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    if (sep < 0 || f.length < sep + 4) continue;
    out.push({
      root: unescape(f[3]!),
      mountPoint: unescape(f[4]!),
      fsType: f[sep + 1]!,
      superOptions: f[sep + 3]!.split(","),
    });
  }
  return out;
}

const DIAGNOSIS = "/proc/self/mountinfo lists no cgroup or cgroup2 mount. " +
  "`ip netns exec` remounts /sys, which hides the cgroup mounts: " +
  "run tsbox outside it (or use `nsenter --net=/run/netns/NAME`)";

/**
 * Parses mountinfo text (default: /proc/self/mountinfo) into the cgroup
 * layout. Throws TsboxError "no cgroup filesystem is mounted (mount cgroup2 on
 * /sys/fs/cgroup)" when there is none, with a cause that names the likely reason.
 *
 * @example detectCgroups(Deno.readTextFileSync("/proc/self/mountinfo")).mode // "hybrid"
 * Requires --allow-read=/proc when no text is given.
 */
export function detectCgroups(mountinfoText?: string): CgroupLayout {
  let text = mountinfoText;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/self/mountinfo");
    } catch (e) {
      throw new TsboxError("read /proc/self/mountinfo", { cause: e });
    }
  }
  const v1: Partial<Record<V1ControllerName, string>> = {};
  const named: Record<string, string> = {};
  let v2Root: string | undefined;
  // A mount of the hierarchy's root ("/") is preferred over a bind mount of a subtree.
  const entries = parseMountinfo(text).sort((a, b) =>
    Number(a.root !== "/") - Number(b.root !== "/")
  );
  for (const e of entries) {
    if (e.fsType === "cgroup2") {
      v2Root ??= e.mountPoint;
    } else if (e.fsType === "cgroup") {
      for (const opt of e.superOptions) {
        if ((V1_CONTROLLER_NAMES as readonly string[]).includes(opt)) {
          v1[opt as V1ControllerName] ??= e.mountPoint;
        } else if (opt.startsWith("name=")) {
          named[opt.slice(5)] ??= e.mountPoint;
        }
      }
    }
  }
  const hasV1 = Object.keys(v1).length > 0;
  if (!hasV1 && v2Root === undefined) {
    throw new TsboxError("no cgroup filesystem is mounted (mount cgroup2 on /sys/fs/cgroup)", {
      cause: new Error(DIAGNOSIS),
    });
  }
  const mode: CgroupMode = !hasV1 ? "unified" : v2Root === undefined ? "legacy" : "hybrid";
  const layout: CgroupLayout = { mode, v1, named };
  if (v2Root !== undefined) layout.v2Root = v2Root;
  return layout;
}
