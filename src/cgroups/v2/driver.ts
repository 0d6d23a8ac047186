// The cgroup v2 driver: one directory per group in the unified hierarchy
// (<root>/<path>), controllers enabled top-down in each ancestor's
// cgroup.subtree_control, settings written by the modules of V2_CONTROLLERS.
// Used alone on unified hosts; the hybrid driver uses it for the unified
// hierarchy (process tracking, cgroup.kill) and for v2-only controllers.
// Documentation/admin-guide/cgroup-v2.rst.

import { AT_FDCWD, O } from "../../../ffi/constants.ts";
import { sys } from "../../../ffi/syscall.ts";
import { TsboxError, UsageError } from "../../errors.ts";
import { parseCpuList } from "../cpulist.ts";
import {
  type CgroupDriver,
  type CgroupStats,
  emptyStats,
  type FreezerState,
  normalizePath,
  pathPrefixes,
} from "../driver.ts";
import { mkdirOne, pathExists, pollUntil, rmdirOne } from "../fs.ts";
import { type HostInfo, readHostInfo } from "../host.ts";
import { type CgroupResources, neededControllers, type ResourceController } from "../resources.ts";
import { killPids, pidsRecursive, removeTree } from "../tree.ts";
import { resourceProblems } from "../validate.ts";
import type { V2Controller } from "./controller.ts";
import {
  addProcessV2,
  cgroupEvents,
  controllerList,
  enableControllers,
  hasKill,
  killV2,
} from "./core.ts";
import { cpu } from "./cpu.ts";
import { cpuset, effectiveCpusetV2 } from "./cpuset.ts";
import { devices } from "./devices.ts";
import { freezeV2, stateV2, thawV2 } from "./freezer.ts";
import { hugetlb } from "./hugetlb.ts";
import { io } from "./io.ts";
import { memory, oomKillsV2 } from "./memory.ts";
import { pids } from "./pids.ts";
import { unified, unifiedControllers } from "./unified.ts";

/** The parts tsbox manages on v2, in the order settings are applied (raw settings last). */
export const V2_CONTROLLERS: readonly V2Controller[] = [
  cpuset,
  cpu,
  memory,
  io,
  pids,
  hugetlb,
  devices,
  unified,
];

/** Controllers a pure-v2 host enables for every group, so `stats` has figures (as Docker does). */
export const DEFAULT_ENABLED = ["cpu", "io", "memory", "pids"] as const;

/** Options of the v2 driver. */
export interface V2DriverOptions {
  /** Mount point of the cgroup2 hierarchy (detectCgroups().v2Root, or a fixture). */
  root: string;
  /** Controllers to enable along the path whenever the root offers them (default DEFAULT_ENABLED). */
  alwaysEnable?: readonly string[];
  /** Online CPUs and nodes (default: read from sysfs). */
  host?: HostInfo;
  /** How long freeze, kill and destroy wait (default 10 s). */
  timeoutMs?: number;
}

/** The cgroup v2 driver. Requires root (or a delegated subtree) on a real cgroupfs. */
export class V2Driver implements CgroupDriver {
  readonly mode = "unified" as const;
  /** The hierarchy's mount point. */
  readonly root: string;
  readonly #alwaysEnable: readonly string[];
  readonly #host: HostInfo;
  readonly #timeoutMs: number;

  constructor(opts: V2DriverOptions) {
    this.root = opts.root;
    this.#alwaysEnable = opts.alwaysEnable ?? DEFAULT_ENABLED;
    this.#host = opts.host ?? readHostInfo();
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** The group directory of a normalized path. */
  dir(path: string): string {
    return `${this.root}/${normalizePath(path)}`;
  }

  /** The cgroup.subtree_control names `r` needs. */
  #controllersFor(r: CgroupResources): string[] {
    const needed = neededControllers(r);
    const out = new Set<string>(unifiedControllers(r));
    for (const c of V2_CONTROLLERS) {
      if (c.controller && needed.has(c.serves)) out.add(c.controller);
    }
    return [...out];
  }

  /** Whether the root offers the controller that serves part `c` (devices always). */
  serves(c: ResourceController): boolean {
    const ctl = V2_CONTROLLERS.find((x) => x.serves === c);
    if (!ctl) return false;
    return ctl.controller === undefined ||
      controllerList(this.root, "cgroup.controllers").includes(ctl.controller);
  }

  /** Problems of `r` for group `path` (see CgroupDriver.validate). */
  problems(path: string, r: CgroupResources): string[] {
    const p = normalizePath(path);
    const parents = pathPrefixes(p).slice(0, -1).reverse().map((a) => `${this.root}/${a}`);
    // Only CPU settings need the parents' effective cpuset.
    const nearest = r.cpu ? [...parents, this.root].find(pathExists) : undefined;
    const eff = nearest === undefined ? {} : effectiveCpusetV2(nearest);
    const out = resourceProblems(r, {
      version: 2,
      hostCpus: this.#host.cpus.length,
      parentCpus: eff.cpus ? parseCpuList(eff.cpus) : this.#host.cpus,
      parentMems: eff.mems ? parseCpuList(eff.mems) : this.#host.mems,
    });
    const available = controllerList(this.root, "cgroup.controllers");
    for (const c of this.#controllersFor(r)) {
      if (!available.includes(c)) {
        out.push(
          `the ${c} controller is not available in cgroup v2 (${this.root}/cgroup.controllers: ${
            available.join(" ") || "empty"
          })`,
        );
      }
    }
    return out;
  }

  validate(path: string, resources: CgroupResources): void {
    const problems = this.problems(path, resources);
    if (problems.length) throw new UsageError(problems.join("; "));
  }

  /** Enables what `r` needs (and the always-enabled ones on offer) in every ancestor of `p`. */
  #enableAlong(p: string, r: CgroupResources, made?: string[]): void {
    const offered = controllerList(this.root, "cgroup.controllers");
    const wanted = [
      ...new Set([
        ...this.#controllersFor(r),
        ...this.#alwaysEnable.filter((c) => offered.includes(c)),
      ]),
    ];
    let parent = this.root;
    for (const prefix of pathPrefixes(p)) {
      enableControllers(parent, wanted);
      const dir = `${this.root}/${prefix}`;
      if (made && mkdirOne(dir)) made.unshift(dir);
      parent = dir;
    }
  }

  /** See CgroupDriver.create; returns the directories it made, deepest first. */
  create(path: string, resources: CgroupResources = {}): string[] {
    const p = normalizePath(path);
    this.validate(p, resources);
    const made: string[] = [];
    try {
      this.#enableAlong(p, resources, made);
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
      addProcessV2(`${this.root}/${p}`, pid);
    } catch (e) {
      throw new TsboxError(`add process ${pid} to cgroup ${JSON.stringify(p)}`, { cause: e });
    }
  }

  apply(path: string, resources: CgroupResources): void {
    const p = normalizePath(path);
    this.validate(p, resources);
    try {
      this.#enableAlong(p, resources);
    } catch (e) {
      throw new TsboxError(`set limits of cgroup ${JSON.stringify(p)}`, { cause: e });
    }
    this.#apply(p, resources);
  }

  #apply(p: string, r: CgroupResources): void {
    const needed = neededControllers(r);
    const dir = `${this.root}/${p}`;
    for (const c of V2_CONTROLLERS) {
      if (!c.apply || !needed.has(c.serves)) continue;
      try {
        c.apply(dir, r);
      } catch (e) {
        throw new TsboxError(`set ${c.serves} limits of cgroup ${JSON.stringify(p)}`, {
          cause: e,
        });
      }
    }
  }

  async freeze(path: string): Promise<void> {
    await freezeV2(this.dir(path), this.#timeoutMs);
  }

  async thaw(path: string): Promise<void> {
    await thawV2(this.dir(path), this.#timeoutMs);
  }

  state(path: string): FreezerState {
    return stateV2(this.dir(path));
  }

  stats(path: string): CgroupStats {
    const dir = this.dir(path);
    const s = emptyStats();
    for (const c of V2_CONTROLLERS) c.stats?.(dir, s);
    return s;
  }

  pids(path: string): number[] {
    return pidsRecursive(this.dir(path));
  }

  /** Sends SIGKILL to every process of the group without waiting (cgroup.kill, or one by one). */
  signalKill(path: string): void {
    const dir = this.dir(path);
    if (hasKill(dir)) killV2(dir);
    else killPids(pidsRecursive(dir));
  }

  /** Whether the group or a descendant has a live process (cgroup.events "populated"). */
  populated(path: string): boolean {
    const dir = this.dir(path);
    const ev = cgroupEvents(dir);
    return ev.has("populated") ? ev.get("populated") === 1 : pidsRecursive(dir).length > 0;
  }

  async kill(path: string): Promise<void> {
    const p = normalizePath(path);
    const dir = `${this.root}/${p}`;
    if (!pathExists(dir) || !this.populated(p)) return;
    try {
      if (hasKill(dir)) {
        killV2(dir);
      } else {
        // Before Linux 5.14: freeze so nothing forks while the PIDs are read.
        await freezeV2(dir, this.#timeoutMs);
        killPids(pidsRecursive(dir));
        await thawV2(dir, this.#timeoutMs);
      }
      await pollUntil(
        () => {
          if (!this.populated(p)) return true;
          if (!hasKill(dir)) killPids(pidsRecursive(dir));
          return false;
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
    await removeTree(`${this.root}/${p}`, this.#timeoutMs);
  }

  exists(path: string): boolean {
    return pathExists(this.dir(path));
  }

  oomEvents(path: string): number {
    return oomKillsV2(this.dir(path));
  }

  /**
   * An O_PATH|O_DIRECTORY|O_CLOEXEC fd of the group, for
   * clone3(CLONE_INTO_CGROUP). The caller closes it.
   */
  cgroupDirFd(path: string): number {
    const dir = this.dir(path);
    return sys(
      "openat",
      [AT_FDCWD, dir, O.PATH | O.DIRECTORY | O.CLOEXEC],
      JSON.stringify(dir),
    );
  }

  selfJoinFiles(_path: string): string[] {
    return [];
  }

  procPath(path: string): string {
    return `/${normalizePath(path)}`;
  }

  dirs(path: string): string[] {
    const dir = this.dir(path);
    return pathExists(dir) ? [dir] : [];
  }
}
