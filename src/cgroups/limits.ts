// The limits and usage a group has in the kernel right now, read from its
// interface files, each figure with the file it came from (what `tsbox
// explain` and `tsbox ui` show next to the limits tsbox asked for):
//
//   figure   cgroup v1 (hybrid hosts here)                 cgroup v2
//   memory   memory/memory.limit_in_bytes, .usage_in_bytes memory.max, memory.current
//   pids     pids/pids.max, pids.current                   pids.max, pids.current
//   cpu      cpu/cpu.cfs_quota_us / cpu.cfs_period_us,     cpu.max ("QUOTA PERIOD"),
//            cpuacct/cpuacct.usage (ns)                    cpu.stat usage_usec
//
// Read-only; a missing file (controller not mounted) reads as undefined.
// Documentation/admin-guide/cgroup-v2.rst, cgroup-v1/memory.rst, pids.rst.

import type { CgroupLayout } from "./detect.ts";
import { tryReadText } from "./fs.ts";

/** One figure and the file it was read from. */
export interface Figure {
  /** null: "max" (no limit). */
  value: number | null;
  file: string;
}

/** What the kernel says of one group. */
export interface KernelLimits {
  memory?: Figure;
  memoryUsage?: Figure;
  pids?: Figure;
  pidsCurrent?: Figure;
  /** CPUs of CFS bandwidth (quota / period). */
  cpus?: Figure;
  /** Total CPU time, nanoseconds. */
  cpuUsageNs?: Figure;
}

/** v1 memory.limit_in_bytes reads this (or near it, page-aligned) when unlimited. */
const V1_UNLIMITED = 2 ** 62;

function num(file: string, parse: (s: string) => number | null): Figure | undefined {
  const text = tryReadText(file);
  if (text === undefined) return undefined;
  return { value: parse(text.trim()), file };
}

const plain = (s: string) => (s === "max" ? null : Number(s));
const v1mem = (s: string) => (Number(s) >= V1_UNLIMITED ? null : Number(s));

/**
 * The limits and usage of group `path` (relative to the hierarchy roots,
 * "tsbox/web/<id>") as its files say now.
 *
 * @example readKernelLimits(layout, "tsbox/abc").memory // { value: 67108864, file: ".../memory.limit_in_bytes" }
 */
export function readKernelLimits(layout: CgroupLayout, path: string): KernelLimits {
  const out: KernelLimits = {};
  const set = <K extends keyof KernelLimits>(k: K, f: Figure | undefined) => {
    if (f) out[k] = f;
  };
  const v1 = layout.v1;
  if (v1.memory) {
    set("memory", num(`${v1.memory}/${path}/memory.limit_in_bytes`, v1mem));
    set("memoryUsage", num(`${v1.memory}/${path}/memory.usage_in_bytes`, Number));
  }
  if (v1.pids) {
    set("pids", num(`${v1.pids}/${path}/pids.max`, plain));
    set("pidsCurrent", num(`${v1.pids}/${path}/pids.current`, Number));
  }
  if (v1.cpu) {
    const dir = `${v1.cpu}/${path}`;
    const period = Number(tryReadText(`${dir}/cpu.cfs_period_us`)?.trim() ?? 100000);
    set("cpus", num(`${dir}/cpu.cfs_quota_us`, (s) => (Number(s) < 0 ? null : Number(s) / period)));
  }
  if (v1.cpuacct) set("cpuUsageNs", num(`${v1.cpuacct}/${path}/cpuacct.usage`, Number));
  if (layout.v2Root) {
    const dir = `${layout.v2Root}/${path}`;
    if (!out.memory) set("memory", num(`${dir}/memory.max`, plain));
    if (!out.memoryUsage) set("memoryUsage", num(`${dir}/memory.current`, Number));
    if (!out.pids) set("pids", num(`${dir}/pids.max`, plain));
    if (!out.pidsCurrent) set("pidsCurrent", num(`${dir}/pids.current`, Number));
    if (!out.cpus) {
      set(
        "cpus",
        num(`${dir}/cpu.max`, (s) => {
          const [q, p] = s.split(/\s+/);
          return q === "max" || !q ? null : Number(q) / Number(p ?? 100000);
        }),
      );
    }
    if (!out.cpuUsageNs) {
      set(
        "cpuUsageNs",
        num(`${dir}/cpu.stat`, (s) => Number(/^usage_usec (\d+)/m.exec(s)?.[1] ?? 0) * 1000),
      );
    }
  }
  return out;
}
