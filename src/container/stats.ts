// Live usage figures of containers, as `docker stats` shows them: CPU time
// from the cgroup (v1 cpuacct.usage, v2 cpu.stat usage_usec) against the
// host's total CPU time (/proc/stat, proc(5)), memory usage without inactive
// page cache, the limit in effect, processes (pids.current), block I/O
// (v1 blkio.throttle.io_service_bytes_recursive, v2 io.stat) and the bytes
// of the container's network interfaces (/proc/PID/net/dev of its init).
// Docker's formulas: cli/command/container/stats_helpers.go.

import { hasProcess } from "./state_machine.ts";
import type { CgroupStats } from "../cgroups/driver.ts";
import { readHostInfo } from "../cgroups/host.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { cgroupHost, cgroupInfo, containerCgroup } from "./cgroup.ts";
import { processAlive } from "./status.ts";

/** One reading of a container's figures. */
export interface StatsSample {
  id: string;
  name: string;
  /** Whether the container had live processes (else every figure is 0). */
  running: boolean;
  /** CPU time of the container, nanoseconds. */
  cpuNs: number;
  /** The cgroup's CPU figures: total, per CPU (v1 cpuacct), user/system and throttling. */
  cpu: CgroupStats["cpu"];
  /** CPU time of the whole host (all CPUs, busy and idle), nanoseconds. */
  systemNs: number;
  /** Online CPUs of the host. */
  onlineCpus: number;
  /** Memory in use, bytes, without inactive page cache. */
  memUsage: number;
  /** The limit in effect (the container's, a group's, or the host's memory). */
  memLimit: number;
  pids: number;
  blkRead: number;
  blkWrite: number;
  netRx: number;
  netTx: number;
}

/** USER_HZ: /proc/stat counts 1/100 s ticks on every Linux ABI. */
const NS_PER_TICK = 1e7;

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Total CPU time of the host from /proc/stat's "cpu" line (user..steal), ns. */
export function hostCpuNs(procStat = readOr("/proc/stat")): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return 0;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return f.reduce((a, b) => a + b, 0) * NS_PER_TICK;
}

/** MemTotal of /proc/meminfo, bytes. */
export function hostMemory(meminfo = readOr("/proc/meminfo")): number {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Received and sent bytes of every interface but lo in /proc/PID/net/dev text. */
export function netBytes(netDev: string): { rx: number; tx: number } {
  let rx = 0, tx = 0;
  for (const line of netDev.split("\n").slice(2)) {
    const i = line.indexOf(":");
    if (i < 0 || line.slice(0, i).trim() === "lo") continue;
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

/** What one reading needs besides the container: the host's figures and per-container constants. */
interface SampleContext {
  systemNs: number;
  onlineCpus: number;
  driver: ReturnType<typeof cgroupHost>["driver"];
  /** Per container id: its cgroup path and the limit its groups put on its memory. */
  fixed: Map<string, Fixed>;
}

type Fixed = { path: string | undefined; effectiveMemory: number | null };

function newContext(fixed = new Map<string, Fixed>()): SampleContext {
  return {
    systemNs: hostCpuNs(),
    onlineCpus: readHostInfo().cpus.length,
    driver: cgroupHost().driver,
    fixed,
  };
}

/**
 * Reads the figures of one container. A container that is not running
 * reads all zeros. Requires root (cgroupfs, /proc/PID/net).
 */
export function sampleStats(rec: ContainerRecord, ctx: SampleContext = newContext()): StatsSample {
  const s: StatsSample = {
    id: rec.id,
    name: rec.name,
    running: false,
    cpuNs: 0,
    cpu: { usageNs: 0 },
    systemNs: ctx.systemNs,
    onlineCpus: ctx.onlineCpus,
    memUsage: 0,
    memLimit: 0,
    pids: 0,
    blkRead: 0,
    blkWrite: 0,
    netRx: 0,
    netTx: 0,
  };
  if (!hasProcess(rec)) return s;
  let fixed = ctx.fixed.get(rec.id);
  if (!fixed) {
    fixed = {
      path: containerCgroup(rec),
      effectiveMemory: cgroupInfo(rec)?.effective.memory ?? null,
    };
    ctx.fixed.set(rec.id, fixed);
  }
  const path = fixed.path;
  const { driver } = ctx;
  if (!path || !driver.exists(path)) return s;
  const st = driver.stats(path);
  s.running = true;
  s.cpuNs = st.cpu.usageNs;
  s.cpu = st.cpu;
  const inactive = st.memory.inactiveFile ?? 0;
  s.memUsage = inactive < st.memory.usage ? st.memory.usage - inactive : st.memory.usage;
  const limits = [st.memory.limit, fixed.effectiveMemory].filter((x): x is number => x !== null);
  s.memLimit = limits.length ? Math.min(...limits) : hostMemory();
  s.pids = st.pids.current;
  s.blkRead = st.blkio.readBytes;
  s.blkWrite = st.blkio.writeBytes;
  if (rec.pid && processAlive(rec)) {
    const net = netBytes(readOr(`/proc/${rec.pid}/net/dev`));
    s.netRx = net.rx;
    s.netTx = net.tx;
  }
  return s;
}

/**
 * Reads many containers again and again (`tsbox stats`, `tsbox ui`): the
 * host's figures once per reading, and what does not change while a
 * container runs (its cgroup path, its groups' memory limit) once per run.
 */
export class StatsSampler {
  #fixed = new Map<string, Fixed>();
  #started = new Map<string, string | null>();

  /** One reading of each container of `recs`. */
  sample(recs: readonly ContainerRecord[]): StatsSample[] {
    const ctx = newContext(this.#fixed);
    for (const r of recs) {
      // A restart may put it elsewhere: forget what was fixed for the previous run.
      if (this.#started.get(r.id) !== r.startedAt) this.#fixed.delete(r.id);
      this.#started.set(r.id, r.startedAt);
    }
    const ids = new Set(recs.map((r) => r.id));
    for (const id of this.#started.keys()) {
      if (ids.has(id)) continue;
      this.#started.delete(id);
      this.#fixed.delete(id);
    }
    return recs.map((r) => sampleStats(r, ctx));
  }
}

/**
 * Docker's CPU %: the container's share of the host's CPU time between two
 * readings, times the number of CPUs (100% = one CPU busy).
 *
 * @example cpuPercent(prev, cur) // 50.1 for half a CPU
 */
export function cpuPercent(prev: StatsSample | undefined, cur: StatsSample): number {
  if (!prev || !cur.running) return 0;
  const cpu = cur.cpuNs - prev.cpuNs;
  const system = cur.systemNs - prev.systemNs;
  return cpu > 0 && system > 0 ? (cpu / system) * cur.onlineCpus * 100 : 0;
}

/** Docker's MEM %: usage over the limit in effect. */
export function memPercent(s: StatsSample): number {
  return s.memLimit > 0 ? (s.memUsage / s.memLimit) * 100 : 0;
}
