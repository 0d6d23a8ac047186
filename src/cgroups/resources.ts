// The resource model of tsbox's cgroup layer: the OCI runtime spec's
// `linux.resources` (config-linux.md "Control groups"), plus pure conversions
// to the values cgroup v1 and cgroup v2 files take. The conversions follow the
// OCI/runc rules (runc docs/cgroup-v2.md, "Conversion between cgroup v1 and v2").
// Documentation/admin-guide/cgroup-v2.rst names the v2 files;
// Documentation/admin-guide/cgroup-v1/*.rst the v1 ones.

/** One device rule of the devices controller (OCI `linux.resources.devices[]`). */
export interface DeviceRule {
  allow: boolean;
  /** "a" (all; the default), "c" (char) or "b" (block). */
  type?: "a" | "c" | "b";
  /** Absent or null: any major. */
  major?: number | null;
  /** Absent or null: any minor. */
  minor?: number | null;
  /** Some of "rwm"; absent means "rwm". */
  access?: string;
}

/** A per-device throttle (bytes or I/O operations per second). */
export interface ThrottleDevice {
  major: number;
  minor: number;
  /** 0 removes the limit. */
  rate: number;
}

/** A hugetlb limit: `pageSize` like "2MB" or "1GB". */
export interface HugepageLimit {
  pageSize: string;
  limit: number;
}

/**
 * Resources of one group: OCI `linux.resources`. Numbers use the OCI
 * conventions: 0 or absent means unset, -1 means unlimited where allowed.
 * A spec's `Resources` (src/spec/types.ts) is assignable to this type.
 */
export interface CgroupResources {
  cpu?: {
    /** v1 cpu.shares (2..262144); v2 cpu.weight is derived from it. */
    shares?: number;
    /** CFS quota in microseconds per period; -1 for none. */
    quota?: number;
    /** CFS period in microseconds (default 100000). */
    period?: number;
    /** v1 only: real-time runtime and period in microseconds. */
    realtimeRuntime?: number;
    realtimePeriod?: number;
    /** cpuset: CPUs as a list, "0-2,4". */
    cpus?: string;
    /** cpuset: memory nodes as a list. */
    mems?: string;
  };
  memory?: {
    /** Bytes; -1 for none. */
    limit?: number;
    /** Soft limit in bytes (v1 soft_limit_in_bytes, v2 memory.low). */
    reservation?: number;
    /** Memory + swap in bytes, as in v1; -1 for unlimited swap. */
    swap?: number;
    /** Deprecated by the kernel; ignored. */
    kernel?: number;
    /** v1 only: 0..100. */
    swappiness?: number;
    /** v1 only: memory.oom_control 1. */
    disableOOMKiller?: boolean;
    /** tsbox extension, v2 only: memory.oom.group 1 (the OOM killer takes the whole group). */
    oomGroup?: boolean;
  };
  /** -1 for none. */
  pids?: { limit: number };
  blockIO?: {
    /** 10..1000. */
    weight?: number;
    /** v1 only, removed from recent kernels; ignored. */
    leafWeight?: number;
    weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
    throttleReadBpsDevice?: ThrottleDevice[];
    throttleWriteBpsDevice?: ThrottleDevice[];
    throttleReadIOPSDevice?: ThrottleDevice[];
    throttleWriteIOPSDevice?: ThrottleDevice[];
  };
  /** Rules in order; the last matching rule wins; default deny when non-empty. */
  devices?: DeviceRule[];
  /** v1 only: net_cls and net_prio. */
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  hugepageLimits?: HugepageLimit[];
  /** v2 only: raw "file": "value" settings. */
  unified?: Record<string, string>;
}

/** Default CFS period in microseconds. */
export const DEFAULT_CPU_PERIOD = 100_000;

/**
 * cpu.shares -> cpu.weight with the OCI formula
 * weight = 1 + ((shares - 2) * 9999) / 262142 (integer division), clamped to 1..10000.
 *
 * @example sharesToWeight(1024) // 39
 */
export function sharesToWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/**
 * quota/period -> the cpu.max value: "QUOTA PERIOD", or "max PERIOD" for no quota.
 * Returns undefined when neither is set.
 *
 * @example cpuMax(50000, 100000) // "50000 100000"
 */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (!quota && !period) return undefined;
  const p = period || DEFAULT_CPU_PERIOD;
  return quota && quota > 0 ? `${quota} ${p}` : `max ${p}`;
}

/** A number in a v2 limit file: -1 becomes "max". */
export function v2Limit(n: number): string {
  return n === -1 ? "max" : String(n);
}

/**
 * The value of v2 memory.swap.max for OCI `memory.swap` (memory + swap) and
 * `memory.limit`: swap - limit; "max" for -1; undefined when nothing is to be
 * written. Throws RangeError on a combination v2 cannot express (validation
 * reports these first).
 */
export function swapMaxV2(swap: number | undefined, limit: number | undefined): string | undefined {
  const s = swap ?? 0, m = limit ?? 0;
  if (m === -1 && s === 0) return "max";
  if (s === 0) return undefined;
  if (s === -1) return "max";
  if (m === -1) return String(s);
  if (m === 0) throw new RangeError("a swap limit needs a memory limit");
  if (s < m) throw new RangeError("memory+swap limit is below the memory limit");
  return String(s - m);
}

/**
 * blkio weight (10..1000) -> io.weight (1..10000): 1 + (w - 10) * 9999 / 990.
 * io.bfq.weight takes the blkio value as it is.
 *
 * @example blkioWeightToIoWeight(500) // 4950
 */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * The io.max lines for the throttles of `blockIO`: one line per device,
 * "MAJ:MIN rbps=N wbps=N riops=N wiops=N" with only the keys given; a rate
 * of 0 becomes "max" (no limit).
 */
export function ioMaxLines(blockIO: CgroupResources["blockIO"]): string[] {
  if (!blockIO) return [];
  const byDev = new Map<string, string[]>();
  const add = (list: ThrottleDevice[] | undefined, key: string) => {
    for (const t of list ?? []) {
      const dev = `${t.major}:${t.minor}`;
      const entries = byDev.get(dev) ?? [];
      entries.push(`${key}=${t.rate === 0 ? "max" : t.rate}`);
      byDev.set(dev, entries);
    }
  };
  add(blockIO.throttleReadBpsDevice, "rbps");
  add(blockIO.throttleWriteBpsDevice, "wbps");
  add(blockIO.throttleReadIOPSDevice, "riops");
  add(blockIO.throttleWriteIOPSDevice, "wiops");
  return [...byDev].map(([dev, kv]) => `${dev} ${kv.join(" ")}`);
}

/** A device rule as cgroup v1 devices.allow/deny takes it: "c 1:3 rwm", "c 136:* rwm", "a". */
export function v1DeviceRule(rule: DeviceRule): string {
  const type = rule.type ?? "a";
  if (type === "a") return "a";
  const num = (n: number | null | undefined) => (n === undefined || n === null || n < 0 ? "*" : n);
  return `${type} ${num(rule.major)}:${num(rule.minor)} ${rule.access || "rwm"}`;
}

/** Whether a rule matches every device ("a", whatever major and minor). */
export function isWildcardRule(rule: DeviceRule): boolean {
  return (rule.type ?? "a") === "a";
}

/**
 * A hugetlb page size as the kernel spells it in file names ("2MB", "1GB"),
 * from forms like "2MB", "2M", "2048kB"; undefined when not a size.
 */
export function hugepageSizeName(pageSize: string): string | undefined {
  const m = /^(\d+)\s*([KkMmGg])i?[Bb]?$/.exec(pageSize.trim());
  if (!m) return undefined;
  let n = Number(m[1]);
  let unit = m[2]!.toUpperCase();
  while (n >= 1024 && n % 1024 === 0 && unit !== "G") {
    n /= 1024;
    unit = unit === "K" ? "M" : "G";
  }
  return `${n}${unit}B`;
}

/** A part of the resource model, named after its v2 controller ("io" is v1 blkio; "unified" the raw v2 settings). */
export type ResourceController =
  | "cpu"
  | "cpuset"
  | "memory"
  | "pids"
  | "io"
  | "devices"
  | "net_cls"
  | "net_prio"
  | "hugetlb"
  | "unified";

/** Which controllers `r` asks something of (io stands for v1 blkio). */
export function neededControllers(r: CgroupResources): Set<ResourceController> {
  const out = new Set<ResourceController>();
  const c = r.cpu;
  if (c && (c.shares || c.quota || c.period || c.realtimeRuntime || c.realtimePeriod)) {
    out.add("cpu");
  }
  if (c && (c.cpus || c.mems)) out.add("cpuset");
  const m = r.memory;
  if (
    m &&
    (m.limit || m.reservation || m.swap || m.swappiness !== undefined || m.disableOOMKiller ||
      m.oomGroup)
  ) out.add("memory");
  if (r.pids && r.pids.limit !== 0) out.add("pids");
  const b = r.blockIO;
  if (
    b &&
    (b.weight || b.weightDevice?.length || b.throttleReadBpsDevice?.length ||
      b.throttleWriteBpsDevice?.length || b.throttleReadIOPSDevice?.length ||
      b.throttleWriteIOPSDevice?.length)
  ) out.add("io");
  if (r.devices?.length) out.add("devices");
  if (r.network?.classID) out.add("net_cls");
  if (r.network?.priorities?.length) out.add("net_prio");
  if (r.hugepageLimits?.length) out.add("hugetlb");
  if (r.unified && Object.keys(r.unified).length) out.add("unified");
  return out;
}

/**
 * The part of `r` that the controllers `keep` accepts serve (the hybrid
 * driver splits a request between the v1 and v2 hierarchies this way).
 */
export function pickResources(
  r: CgroupResources,
  keep: (c: ResourceController) => boolean,
): CgroupResources {
  const out: CgroupResources = {};
  if (r.cpu) {
    const { cpus, mems, ...rest } = r.cpu;
    const cpu: NonNullable<CgroupResources["cpu"]> = keep("cpu") ? { ...rest } : {};
    if (keep("cpuset") && cpus !== undefined) cpu.cpus = cpus;
    if (keep("cpuset") && mems !== undefined) cpu.mems = mems;
    if (Object.keys(cpu).length) out.cpu = cpu;
  }
  if (r.memory && keep("memory")) out.memory = r.memory;
  if (r.pids && keep("pids")) out.pids = r.pids;
  if (r.blockIO && keep("io")) out.blockIO = r.blockIO;
  if (r.devices && keep("devices")) out.devices = r.devices;
  if (r.network) {
    const net: NonNullable<CgroupResources["network"]> = {};
    if (r.network.classID !== undefined && keep("net_cls")) net.classID = r.network.classID;
    if (r.network.priorities && keep("net_prio")) net.priorities = r.network.priorities;
    if (Object.keys(net).length) out.network = net;
  }
  if (r.hugepageLimits && keep("hugetlb")) out.hugepageLimits = r.hugepageLimits;
  if (r.unified && keep("unified")) out.unified = r.unified;
  return out;
}
