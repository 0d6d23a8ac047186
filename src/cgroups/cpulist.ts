// The kernel's CPU and memory-node list format ("0-2,4,7-8"), used by
// cpuset.cpus / cpuset.mems (cgroup v1 and v2), cpuset.cpus.effective and
// /sys/devices/system/cpu/online. Documentation/admin-guide/cgroup-v2.rst
// ("Cpuset Interface Files") and cgroup-v1/cpusets.rst.

import { UsageError } from "../errors.ts";

/** Largest CPU or node number accepted in a list (the kernel's NR_CPUS limit). */
const MAX_ID = 8192;

/**
 * Parses a list like "0-2,4" into sorted, distinct numbers. An empty string is
 * the empty list. Throws UsageError naming the list on bad syntax.
 *
 * @example parseCpuList("0-2,4") // [0, 1, 2, 4]
 */
export function parseCpuList(list: string): number[] {
  const text = list.trim();
  if (text === "") return [];
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`invalid CPU list ${JSON.stringify(list)}: bad item "${part}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) {
      throw new UsageError(`invalid CPU list ${JSON.stringify(list)}: range "${part}" is reversed`);
    }
    if (hi > MAX_ID) {
      throw new UsageError(`invalid CPU list ${JSON.stringify(list)}: ${hi} is too large`);
    }
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Formats numbers as the kernel does, with ranges.
 *
 * @example formatCpuList([0, 1, 2, 4]) // "0-2,4"
 */
export function formatCpuList(ids: Iterable<number>): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i]!;
    parts.push(start === end ? `${start}` : `${start}-${end}`);
    i++;
  }
  return parts.join(",");
}

/** The numbers of `a` that are also in `b`. */
export function intersect(a: readonly number[], b: readonly number[]): number[] {
  const set = new Set(b);
  return a.filter((x) => set.has(x));
}
