// The hybrid driver: cgroup v1 for every controller mounted as v1, plus the
// same group in the cgroup2 hierarchy (e.g. /sys/fs/cgroup/unified/<path>)
// where the process is placed too, as runc does, so that cgroup.events,
// cgroup.kill and clone3(CLONE_INTO_CGROUP) work. A controller that is bound
// to v2 rather than v1 (hugetlb on some hosts) is served through the v2 group.
// Documentation/admin-guide/cgroup-v2.rst ("Mounting": a controller is bound
// to one hierarchy) and cgroup-v1/cgroups.rst.

import { ErrorList, TsboxError, UsageError } from "../errors.ts";
import type { V1ControllerName } from "./detect.ts";
import { type CgroupDriver, type CgroupStats, type FreezerState, normalizePath } from "./driver.ts";
import { pollUntil, rmdirOne } from "./fs.ts";
import type { HostInfo } from "./host.ts";
import {
  type CgroupResources,
  neededControllers,
  pickResources,
  type ResourceController,
} from "./resources.ts";
import { V1Driver } from "./v1/driver.ts";
import { V2Driver } from "./v2/driver.ts";

/** Options of the hybrid driver. */
export interface HybridDriverOptions {
  /** Mount point of each v1 controller. */
  mounts: Partial<Record<V1ControllerName, string>>;
  /** Mount point of the cgroup2 hierarchy. */
  v2Root: string;
  host?: HostInfo;
  timeoutMs?: number;
}

/** The driver for hybrid hosts. Requires root on a real cgroupfs. */
export class HybridDriver implements CgroupDriver {
  readonly mode = "hybrid" as const;
  /** The v1 side (resource controllers). */
  readonly v1: V1Driver;
  /** The unified side (process tracking, kill, v2-bound controllers). */
  readonly v2: V2Driver;
  readonly #timeoutMs: number;

  constructor(opts: HybridDriverOptions) {
    const common = {
      ...(opts.host ? { host: opts.host } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    };
    this.v1 = new V1Driver({ mounts: opts.mounts, ...common });
    // Only what a request needs is enabled on the unified side: its root
    // usually belongs to the host's init system.
    this.v2 = new V2Driver({ root: opts.v2Root, alwaysEnable: [], ...common });
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Whether part `c` goes to the v2 group: not mounted as v1, offered by the v2 root. */
  #onV2(c: ResourceController): boolean {
    return c === "unified" || (!this.v1.serves(c) && this.v2.serves(c));
  }

  #split(r: CgroupResources): { v1: CgroupResources; v2: CgroupResources } {
    return {
      v1: pickResources(r, (c) => !this.#onV2(c)),
      v2: pickResources(r, (c) => this.#onV2(c)),
    };
  }

  validate(path: string, resources: CgroupResources): void {
    const { v1, v2 } = this.#split(resources);
    const onV2 = new Set([...neededControllers(resources)].filter((c) => this.#onV2(c)));
    const problems = [...this.v1.problems(path, v1, onV2), ...this.v2.problems(path, v2)];
    if (problems.length) throw new UsageError([...new Set(problems)].join("; "));
  }

  create(path: string, resources: CgroupResources = {}): void {
    const p = normalizePath(path);
    this.validate(p, resources);
    const { v1, v2 } = this.#split(resources);
    const made = this.v2.create(p, v2);
    try {
      this.v1.create(p, v1);
    } catch (e) {
      for (const dir of made) {
        try {
          rmdirOne(dir);
        } catch { /* best effort: the error below matters more */ }
      }
      throw e;
    }
  }

  addProcess(path: string, pid: number): void {
    this.v2.addProcess(path, pid);
    this.v1.addProcess(path, pid);
  }

  apply(path: string, resources: CgroupResources): void {
    this.validate(path, resources);
    const { v1, v2 } = this.#split(resources);
    this.v1.apply(path, v1);
    this.v2.apply(path, v2);
  }

  async freeze(path: string): Promise<void> {
    if (this.v1.hasFreezer()) await this.v1.freeze(path);
    else await this.v2.freeze(path);
  }

  async thaw(path: string): Promise<void> {
    if (this.v1.hasFreezer()) await this.v1.thaw(path);
    else await this.v2.thaw(path);
  }

  state(path: string): FreezerState {
    return this.v1.hasFreezer() ? this.v1.state(path) : this.v2.state(path);
  }

  stats(path: string): CgroupStats {
    return this.v1.stats(path);
  }

  pids(path: string): number[] {
    return [...new Set([...this.v2.pids(path), ...this.v1.pids(path)])].sort((a, b) => a - b);
  }

  async kill(path: string): Promise<void> {
    const p = normalizePath(path);
    if (this.pids(p).length === 0) return;
    if (!this.v2.exists(p)) {
      await this.v1.kill(p);
      return;
    }
    try {
      this.v2.signalKill(p);
      // A task frozen by the v1 freezer dies only once thawed.
      if (this.v1.hasFreezer() && this.v1.state(p) === "frozen") await this.v1.thaw(p);
      await pollUntil(
        () => this.pids(p).length === 0,
        `wait for cgroup ${JSON.stringify(p)} to empty`,
        this.#timeoutMs,
      );
    } catch (e) {
      throw new TsboxError(`kill the processes of cgroup ${JSON.stringify(p)}`, { cause: e });
    }
    // Processes that were only in the v1 groups (moved there by someone else).
    await this.v1.kill(p);
  }

  async destroy(path: string): Promise<void> {
    const p = normalizePath(path);
    const errors = new ErrorList();
    await errors.tryAsync(`kill cgroup ${JSON.stringify(p)}`, () => this.kill(p));
    await errors.tryAsync("remove the v1 groups", () => this.v1.destroy(p));
    await errors.tryAsync("remove the unified group", () => this.v2.destroy(p));
    errors.throwIfAny(`destroy cgroup ${JSON.stringify(p)}`);
  }

  exists(path: string): boolean {
    return this.v1.exists(path) || this.v2.exists(path);
  }

  oomEvents(path: string): number {
    return this.v1.serves("memory") ? this.v1.oomEvents(path) : this.v2.oomEvents(path);
  }

  cgroupDirFd(path: string): number {
    return this.v2.cgroupDirFd(path);
  }

  selfJoinFiles(path: string): string[] {
    return this.v1.selfJoinFiles(path);
  }

  procPath(path: string): string {
    return `/${normalizePath(path)}`;
  }

  dirs(path: string): string[] {
    return [...this.v1.dirs(path), ...this.v2.dirs(path)];
  }
}
