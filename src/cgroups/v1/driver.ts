// The cgroup v1 driver: one directory per group in every mounted controller
// hierarchy (/sys/fs/cgroup/<controller>/<path>), written by the controller
// modules of V1_CONTROLLERS. Used alone on legacy hosts and for the resource
// controllers of hybrid hosts (src/cgroups/hybrid.ts).
// Documentation/admin-guide/cgroup-v1/cgroups.rst.

import { ErrorList, TsboxError, UsageError } from "../../errors.ts";
import { parseCpuList } from "../cpulist.ts";
import type { V1ControllerName } from "../detect.ts";
import {
  type CgroupDriver,
  type CgroupStats,
  emptyStats,
  type FreezerState,
  normalizePath,
  pathPrefixes,
} from "../driver.ts";
import { mkdirOne, pathExists, pollUntil, rmdirOne, writeCommand } from "../fs.ts";
import { type HostInfo, readHostInfo } from "../host.ts";
import { type CgroupResources, neededControllers, type ResourceController } from "../resources.ts";
import { killPids, pidsRecursive, removeTree } from "../tree.ts";
import { resourceProblems } from "../validate.ts";
import { blkio } from "./blkio.ts";
import type { V1Controller } from "./controller.ts";
import { cfsRate, cpu } from "./cpu.ts";
import { cpuacct } from "./cpuacct.ts";
import { cpuset, effectiveCpuset } from "./cpuset.ts";
import { devices } from "./devices.ts";
import { freezer, freezeV1, stateV1, thawV1 } from "./freezer.ts";
import { hugetlb } from "./hugetlb.ts";
import { memory, oomKills } from "./memory.ts";
import { netCls } from "./net_cls.ts";
import { netPrio } from "./net_prio.ts";
import { pids } from "./pids.ts";

/** The controllers tsbox manages on v1, in the order settings are applied (cpuset first). */
export const V1_CONTROLLERS: readonly V1Controller[] = [
  cpuset,
  cpu,
  cpuacct,
  memory,
  pids,
  blkio,
  devices,
  freezer,
  netCls,
  netPrio,
  hugetlb,
];

/** Options of the v1 driver. */
export interface V1DriverOptions {
  /** Mount point of each v1 controller (detectCgroups().v1, or a fixture). */
  mounts: Partial<Record<V1ControllerName, string>>;
  /** Online CPUs and nodes (default: read from sysfs). */
  host?: HostInfo;
  /** How long freeze, kill and destroy wait (default 10 s). */
  timeoutMs?: number;
}

/** Where the v1 driver finds processes: the first of these that is mounted. */
const TRACKING: readonly V1ControllerName[] = ["freezer", "pids", "memory", "cpu", "cpuacct"];

/** The cgroup v1 driver. Requires root on a real cgroupfs. */
export class V1Driver implements CgroupDriver {
  readonly mode = "legacy" as const;
  readonly #mounts: Partial<Record<V1ControllerName, string>>;
  readonly #host: HostInfo;
  readonly #timeoutMs: number;

  constructor(opts: V1DriverOptions) {
    this.#mounts = opts.mounts;
    this.#host = opts.host ?? readHostInfo();
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Whether the v1 hierarchy of resource part `c` is mounted. */
  serves(c: ResourceController): boolean {
    return V1_CONTROLLERS.some((ctl) => ctl.serves === c && this.#mounts[ctl.name] !== undefined);
  }

  /** The mount points of the managed controllers, each once (co-mounted controllers share one). */
  roots(): string[] {
    const out: string[] = [];
    for (const c of V1_CONTROLLERS) {
      const m = this.#mounts[c.name];
      if (m !== undefined && !out.includes(m)) out.push(m);
    }
    return out;
  }

  #dir(name: V1ControllerName, path: string): string | undefined {
    const m = this.#mounts[name];
    return m === undefined ? undefined : `${m}/${path}`;
  }

  /** Problems of `r` for group `path`; parts in `elsewhere` are served by another hierarchy. */
  problems(path: string, r: CgroupResources, elsewhere = new Set<ResourceController>()): string[] {
    const p = normalizePath(path);
    const parents = pathPrefixes(p).slice(0, -1).reverse();
    const existing = (name: V1ControllerName) =>
      [...parents.map((a) => this.#dir(name, a)!), this.#mounts[name]!].find(pathExists);
    let parentCpus: number[] = this.#host.cpus, parentMems: number[] = this.#host.mems;
    // The parents' cpuset and CFS rate matter only to CPU settings: most
    // containers ask for none, and these reads are most of a validation's cost.
    const cpusetDir = this.#mounts.cpuset === undefined || !r.cpu ? undefined : existing("cpuset");
    if (cpusetDir !== undefined) {
      const eff = effectiveCpuset(cpusetDir);
      if (eff.cpus) parentCpus = parseCpuList(eff.cpus);
      if (eff.mems) parentMems = parseCpuList(eff.mems);
    }
    let parentCpuRate: number | null = null;
    if (this.#mounts.cpu !== undefined && r.cpu) {
      for (const a of parents) {
        const d = this.#dir("cpu", a)!;
        const rate = pathExists(d) ? cfsRate(d) : null;
        if (rate !== null) parentCpuRate = Math.min(parentCpuRate ?? rate, rate);
      }
    }
    const out = resourceProblems(r, {
      version: 1,
      hostCpus: this.#host.cpus.length,
      parentCpus,
      parentMems,
      parentCpuRate,
    });
    for (const c of neededControllers(r)) {
      if (c === "unified" || elsewhere.has(c) || this.serves(c)) continue;
      out.push(`the ${c === "io" ? "blkio" : c} controller is not mounted on this host`);
    }
    return out;
  }

  validate(path: string, resources: CgroupResources): void {
    const problems = this.problems(path, resources);
    if (problems.length) throw new UsageError(problems.join("; "));
  }

  /** See CgroupDriver.create; returns the directories it made, deepest first. */
  create(path: string, resources: CgroupResources = {}): string[] {
    const p = normalizePath(path);
    this.validate(p, resources);
    const made: string[] = [];
    try {
      for (const root of this.roots()) {
        let parent = root;
        for (const prefix of pathPrefixes(p)) {
          const dir = `${root}/${prefix}`;
          if (mkdirOne(dir)) made.unshift(dir);
          for (const c of V1_CONTROLLERS) {
            if (c.prepare && this.#mounts[c.name] === root) c.prepare(dir, parent);
          }
          parent = dir;
        }
      }
      this.#apply(p, resources);
      return made;
    } catch (e) {
      for (const dir of made) {
        try {
          rmdirOne(dir);
        } catch { /* best effort: the error below matters more */ }
      }
      throw new TsboxError(`create cgroup ${JSON.stringify(p)}`, { cause: e });
    }
  }

  addProcess(path: string, pid: number): void {
    const p = normalizePath(path);
    try {
      for (const root of this.roots()) writeCommand(`${root}/${p}/cgroup.procs`, String(pid));
    } catch (e) {
      throw new TsboxError(`add process ${pid} to cgroup ${JSON.stringify(p)}`, { cause: e });
    }
  }

  apply(path: string, resources: CgroupResources): void {
    const p = normalizePath(path);
    this.validate(p, resources);
    this.#apply(p, resources);
  }

  #apply(p: string, r: CgroupResources): void {
    const needed = neededControllers(r);
    for (const c of V1_CONTROLLERS) {
      if (!c.apply || !c.serves || !needed.has(c.serves)) continue;
      const dir = this.#dir(c.name, p);
      if (dir === undefined) continue;
      try {
        c.apply(dir, r);
      } catch (e) {
        throw new TsboxError(`set ${c.name} limits of cgroup ${JSON.stringify(p)}`, { cause: e });
      }
    }
  }

  #freezerDir(p: string, what: string): string {
    const dir = this.#dir("freezer", p);
    if (dir === undefined) {
      throw new TsboxError(
        `${what} cgroup ${JSON.stringify(p)}: the freezer controller is not mounted`,
      );
    }
    return dir;
  }

  /** Whether a freezer hierarchy is mounted. */
  hasFreezer(): boolean {
    return this.#mounts.freezer !== undefined;
  }

  async freeze(path: string): Promise<void> {
    const p = normalizePath(path);
    await freezeV1(this.#freezerDir(p, "freeze"), this.#timeoutMs);
  }

  async thaw(path: string): Promise<void> {
    const p = normalizePath(path);
    await thawV1(this.#freezerDir(p, "thaw"), this.#timeoutMs);
  }

  state(path: string): FreezerState {
    const p = normalizePath(path);
    return stateV1(this.#freezerDir(p, "read the state of"));
  }

  stats(path: string): CgroupStats {
    const p = normalizePath(path);
    const s = emptyStats();
    for (const c of V1_CONTROLLERS) {
      const dir = this.#dir(c.name, p);
      if (c.stats && dir !== undefined) c.stats(dir, s);
    }
    return s;
  }

  #trackingDir(p: string): string {
    for (const name of TRACKING) {
      const dir = this.#dir(name, p);
      if (dir !== undefined) return dir;
    }
    return `${this.roots()[0]}/${p}`;
  }

  pids(path: string): number[] {
    return pidsRecursive(this.#trackingDir(normalizePath(path)));
  }

  async kill(path: string): Promise<void> {
    const p = normalizePath(path);
    if (this.pids(p).length === 0) return;
    const frozen = this.hasFreezer();
    try {
      // Frozen, the group cannot fork while its PIDs are read and killed; a v1
      // frozen task dies only once thawed.
      if (frozen) await this.freeze(p);
      killPids(this.pids(p));
      if (frozen) await this.thaw(p);
      await pollUntil(
        () => {
          const left = this.pids(p);
          killPids(left);
          return left.length === 0;
        },
        `wait for cgroup ${JSON.stringify(p)} to empty`,
        this.#timeoutMs,
      );
    } catch (e) {
      // Removed meanwhile by another process tearing it down (ENOENT, ENODEV):
      // what matters is that no process is left.
      if (this.pids(p).length === 0) return;
      throw new TsboxError(`kill the processes of cgroup ${JSON.stringify(p)}`, { cause: e });
    }
  }

  async destroy(path: string): Promise<void> {
    const p = normalizePath(path);
    if (!this.exists(p)) return;
    await this.kill(p);
    const errors = new ErrorList();
    for (const root of this.roots()) {
      await errors.tryAsync(
        `remove ${JSON.stringify(`${root}/${p}`)}`,
        () => removeTree(`${root}/${p}`, this.#timeoutMs),
      );
    }
    errors.throwIfAny(`destroy cgroup ${JSON.stringify(p)}`);
  }

  exists(path: string): boolean {
    const p = normalizePath(path);
    return this.roots().some((root) => pathExists(`${root}/${p}`));
  }

  oomEvents(path: string): number {
    const dir = this.#dir("memory", normalizePath(path));
    return dir === undefined ? 0 : oomKills(dir);
  }

  cgroupDirFd(_path: string): number | undefined {
    return undefined;
  }

  selfJoinFiles(path: string): string[] {
    return this.dirs(path).map((d) => `${d}/tasks`);
  }

  procPath(path: string): string {
    return `/${normalizePath(path)}`;
  }

  dirs(path: string): string[] {
    const p = normalizePath(path);
    return this.roots().map((root) => `${root}/${p}`).filter(pathExists);
  }
}
