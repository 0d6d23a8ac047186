// Effective limits along a chain of nested groups: a limit set on an ancestor
// binds every descendant, so the effective value at a level is the tightest
// along the path from the root (cgroup-v2.rst "Top-down Constraint"; v1
// memory.stat's hierarchical_memory_limit and cpuset.effective_cpus report the
// same thing). Pure functions: no kernel access.

import { intersect, parseCpuList } from "./cpulist.ts";
import { type CgroupResources, DEFAULT_CPU_PERIOD } from "./resources.ts";

/** The limits that bind one group. null means no limit. */
export interface EffectiveLimits {
  /** Memory limit in bytes. */
  memory: number | null;
  /** Memory + swap limit in bytes (v1 memsw semantics). */
  memorySwap: number | null;
  /** Maximum number of processes. */
  pids: number | null;
  /** CFS bandwidth in CPUs (quota / period). */
  cpuRate: number | null;
  /** Usable CPUs; null when unrestricted and `host` was not given. */
  cpus: number[] | null;
  /** Usable memory nodes; null likewise. */
  mems: number[] | null;
}

function tighter(a: number | null, b: number | undefined): number | null {
  if (b === undefined || b === 0 || b === -1) return a;
  return a === null ? b : Math.min(a, b);
}

/**
 * The effective limits of each group of `chain`, given from the outermost
 * ancestor to the leaf: one result per level.
 *
 * @example
 * effectiveLimits([{ memory: { limit: 64 << 20 } }, { memory: { limit: 128 << 20 } }])[1].memory
 * // 67108864
 */
export function effectiveLimits(
  chain: readonly CgroupResources[],
  host: { cpus?: readonly number[]; mems?: readonly number[] } = {},
): EffectiveLimits[] {
  let cur: EffectiveLimits = {
    memory: null,
    memorySwap: null,
    pids: null,
    cpuRate: null,
    cpus: host.cpus ? [...host.cpus] : null,
    mems: host.mems ? [...host.mems] : null,
  };
  const out: EffectiveLimits[] = [];
  for (const r of chain) {
    const quota = r.cpu?.quota ?? 0;
    const rate = quota > 0 ? quota / (r.cpu?.period || DEFAULT_CPU_PERIOD) : undefined;
    const narrow = (have: number[] | null, list: string | undefined) => {
      if (!list) return have;
      const ids = parseCpuList(list);
      return have === null ? ids : intersect(have, ids);
    };
    cur = {
      memory: tighter(cur.memory, r.memory?.limit),
      memorySwap: tighter(cur.memorySwap, r.memory?.swap),
      pids: tighter(cur.pids, r.pids?.limit),
      cpuRate: tighter(cur.cpuRate, rate),
      cpus: narrow(cur.cpus, r.cpu?.cpus),
      mems: narrow(cur.mems, r.cpu?.mems),
    };
    out.push(cur);
  }
  return out;
}
