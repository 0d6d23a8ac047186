// Validation of a resource request before any cgroup file is touched
// (STYLE.md point 7). Messages follow Docker's where Docker has one
// (daemon/daemon_unix.go verifyPlatformContainerResources), as lower-case
// fragments. The limits come from the kernel: cgroup-v1/memory.rst,
// cgroup-v2.rst ("CPU", "Memory", "IO", "PID", "Cpuset"), sched-bwc.rst.

import { UsageError } from "../errors.ts";
import { formatCpuList, parseCpuList } from "./cpulist.ts";
import { type CgroupResources, DEFAULT_CPU_PERIOD, hugepageSizeName } from "./resources.ts";

/** Docker's minimum memory limit: 6 MiB. */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** What the request is checked against. */
export interface ValidationContext {
  /** 1 when the resource controllers are v1 (legacy and hybrid hosts), 2 on unified hosts. */
  version: 1 | 2;
  /** Online CPUs of the host. */
  hostCpus: number;
  /** Effective CPUs of the parent group (the CPUs a child may use). */
  parentCpus?: readonly number[];
  /** Effective memory nodes of the parent group. */
  parentMems?: readonly number[];
  /** The parent chain's tightest CFS rate in CPUs (quota/period); null for none. v1 refuses more. */
  parentCpuRate?: number | null;
}

function fmt2(n: number): string {
  return n.toFixed(2);
}

/** Every problem of `r` in `ctx`, as message fragments; [] when `r` is fine. */
export function resourceProblems(r: CgroupResources, ctx: ValidationContext): string[] {
  const out: string[] = [];
  const v2 = ctx.version === 2;
  const m = r.memory;
  if (m) {
    const limit = m.limit ?? 0;
    if (limit > 0 && limit < MIN_MEMORY) out.push("minimum memory limit allowed is 6MB");
    if (limit < -1) out.push(`invalid memory limit ${limit}: give bytes, or -1 for no limit`);
    const res = m.reservation ?? 0;
    if (res > 0 && res < MIN_MEMORY) out.push("minimum memory reservation allowed is 6MB");
    if (res < -1) out.push(`invalid memory reservation ${res}`);
    if (limit > 0 && res > 0 && limit < res) {
      out.push(
        "minimum memory limit can not be less than memory reservation limit, see usage",
      );
    }
    const swap = m.swap ?? 0;
    if (swap > 0 && limit === 0) {
      out.push("you should always set the memory limit when using memoryswap limit, see usage");
    }
    if (swap > 0 && limit > 0 && swap < limit) {
      out.push("minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if (swap < -1) out.push(`invalid memory+swap limit ${swap}`);
    if (m.swappiness !== undefined && m.swappiness !== -1) {
      if (v2) out.push("memory.swappiness is a cgroup v1 setting; this host uses cgroup v2");
      else if (m.swappiness < 0 || m.swappiness > 100) {
        out.push(`invalid value: ${m.swappiness}, valid memory swappiness range is 0-100`);
      }
    }
    if (m.disableOOMKiller && v2) {
      out.push("disabling the OOM killer needs cgroup v1; this host uses cgroup v2");
    }
    if (m.oomGroup && !v2) out.push("memory.oomGroup needs cgroup v2; this host uses cgroup v1");
  }
  const c = r.cpu;
  if (c) {
    if ((c.shares ?? 0) < 0) out.push(`invalid cpu shares ${c.shares}`);
    const period = c.period || DEFAULT_CPU_PERIOD;
    if (c.period && (c.period < 1000 || c.period > 1_000_000)) {
      out.push(
        "cpu cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
      );
    }
    const quota = c.quota ?? 0;
    if (quota > 0 && quota < 1000) out.push("cpu cfs quota can not be less than 1ms (i.e. 1000)");
    if (quota < -1) out.push(`invalid cpu quota ${quota}: give microseconds, or -1 for no limit`);
    if (quota > 0) {
      const rate = quota / period;
      if (rate > ctx.hostCpus) {
        out.push(
          `range of CPUs is from 0.01 to ${
            fmt2(ctx.hostCpus)
          }, as there are only ${ctx.hostCpus} CPUs available`,
        );
      } else if (!v2 && ctx.parentCpuRate != null && rate > ctx.parentCpuRate + 1e-9) {
        out.push(
          `cpu quota of ${fmt2(rate)} CPUs exceeds the parent group's ${
            fmt2(ctx.parentCpuRate)
          } CPUs (cgroup v1 refuses a child quota above its parent's)`,
        );
      }
    }
    if (v2 && (c.realtimeRuntime || c.realtimePeriod)) {
      out.push("cpu.realtimeRuntime is a cgroup v1 setting; this host uses cgroup v2");
    }
    checkList(out, c.cpus, ctx.parentCpus, "CPUs");
    checkList(out, c.mems, ctx.parentMems, "memory nodes");
  }
  if (r.pids) {
    const l = r.pids.limit;
    if (!Number.isInteger(l) || l === 0 || l < -1) {
      out.push(`invalid pids limit ${l}: give a positive number, or -1 for no limit`);
    }
  }
  const b = r.blockIO;
  if (b) {
    const bad = (w: number | undefined) => w !== undefined && w !== 0 && (w < 10 || w > 1000);
    if (bad(b.weight) || b.weightDevice?.some((d) => bad(d.weight))) {
      out.push("range of blkio weight is from 10 to 1000");
    }
    const lists = [
      b.throttleReadBpsDevice,
      b.throttleWriteBpsDevice,
      b.throttleReadIOPSDevice,
      b.throttleWriteIOPSDevice,
    ];
    for (const t of lists.flatMap((l) => l ?? [])) {
      if (t.rate < 0 || t.major < 0 || t.minor < 0) {
        out.push(`invalid block I/O throttle ${t.major}:${t.minor} ${t.rate}`);
      }
    }
  }
  r.devices?.forEach((d, i) => {
    const type = d.type ?? "a";
    if (!["a", "b", "c"].includes(type)) {
      out.push(`device rule ${i}: invalid type ${JSON.stringify(type)} (use a, b or c)`);
    }
    if (d.access !== undefined && !/^[rwm]{1,3}$/.test(d.access)) {
      out.push(`device rule ${i}: invalid access ${JSON.stringify(d.access)} (use some of rwm)`);
    }
    for (const n of [d.major, d.minor]) {
      if (n !== undefined && n !== null && n !== -1 && !(Number.isInteger(n) && n >= 0)) {
        out.push(`device rule ${i}: invalid device number ${n}`);
      }
    }
  });
  if (r.network?.classID && v2) {
    out.push("net_cls is a cgroup v1 controller; this host uses cgroup v2");
  }
  if (r.network?.priorities?.length && v2) {
    out.push("net_prio is a cgroup v1 controller; this host uses cgroup v2");
  }
  for (const h of r.hugepageLimits ?? []) {
    if (!hugepageSizeName(h.pageSize)) {
      out.push(`invalid hugepage size ${JSON.stringify(h.pageSize)} (use a size like 2MB)`);
    }
    if (h.limit < 0) out.push(`invalid hugepage limit ${h.limit}`);
  }
  if (r.unified && Object.keys(r.unified).length) {
    if (!v2) out.push("unified resources need cgroup v2; this host uses cgroup v1");
    for (const k of Object.keys(r.unified)) {
      if (!/^[a-z_]+\.[a-z0-9_.]+$/.test(k) || k.startsWith("cgroup.")) {
        out.push(`invalid unified resource ${JSON.stringify(k)}`);
      }
    }
  }
  return out;
}

function checkList(
  out: string[],
  list: string | undefined,
  parent: readonly number[] | undefined,
  what: string,
): void {
  if (!list) return;
  let ids: number[];
  try {
    ids = parseCpuList(list);
  } catch (e) {
    out.push((e as Error).message);
    return;
  }
  if (parent && ids.some((id) => !parent.includes(id))) {
    out.push(
      `requested ${what} are not available - requested ${list}, available: ${
        formatCpuList(parent)
      }`,
    );
  }
}

/**
 * Throws UsageError listing every problem of `r` (joined with "; ").
 *
 * @example validateResources({ memory: { limit: 1024 } }, { version: 2, hostCpus: 4 });
 * // throws "minimum memory limit allowed is 6MB"
 */
export function validateResources(r: CgroupResources, ctx: ValidationContext): void {
  const problems = resourceProblems(r, ctx);
  if (problems.length) throw new UsageError(problems.join("; "));
}

/**
 * Docker's --cpus: a CPU count as a CFS quota for `period` (default 100000 µs).
 * Throws UsageError when `cpus` is not above 0 or exceeds the host's CPUs.
 *
 * @example cpusToQuota(1.5, 4) // { quota: 150000, period: 100000 }
 */
export function cpusToQuota(
  cpus: number,
  hostCpus: number,
  period = DEFAULT_CPU_PERIOD,
): { quota: number; period: number } {
  if (!(cpus > 0) || cpus > hostCpus) {
    throw new UsageError(
      `range of CPUs is from 0.01 to ${
        fmt2(hostCpus)
      }, as there are only ${hostCpus} CPUs available`,
    );
  }
  return { quota: Math.round(cpus * period), period };
}
