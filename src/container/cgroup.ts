// Every container's cgroup, and the groups users nest them in. The kernel
// side is the cgroup library (src/cgroups/, one driver for v1, v2 and hybrid
// hosts); this module decides paths, records, and when things happen:
//
//   $hierarchy/tsbox/                     default parent (removed when empty)
//   ├── <container id>/                   a container (spec.linux.cgroupsPath)
//   └── <group>/[<group>/]<container id>  `tsbox group create a/b`, `run --cgroup-parent a/b`
//
// - create: the path is checked (the parent group exists, the host can
//   enforce the limits) before the record is written (checkCgroup); the group
//   is recorded as a `cgroup` resource before it is made (prepareCgroup).
// - start: the first process joins it before its first instruction: clone3
//   CLONE_INTO_CGROUP on unified hosts; on hybrid and legacy hosts the parent
//   writes every hierarchy's cgroup.procs while the child waits on the sync
//   pipe (src/runtime/executor.ts), since clone3 reaches only the v2 one.
// - exit: afterExit reads the OOM-kill counter and kills whatever is left, so
//   no process outlives its container's init; the undo destroys the group.
// Groups are rows of the `groups` table (src/state/db.ts), made again from
// there when missing (after a reboot). Documentation/admin-guide/cgroup-v2.rst,
// cgroup-v1/cgroups.rst; clone3(2) CLONE_INTO_CGROUP.

import { Errno } from "../../ffi/errno.ts";
import { SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { type CgroupLayout, detectCgroups } from "../cgroups/detect.ts";
import { type CgroupDriver, pathPrefixes } from "../cgroups/driver.ts";
import { type EffectiveLimits, effectiveLimits } from "../cgroups/effective.ts";
import { formatCpuList } from "../cgroups/cpulist.ts";
import { pathExists, rmdirOne } from "../cgroups/fs.ts";
import { readHostInfo } from "../cgroups/host.ts";
import { driverFor } from "../cgroups/open.ts";
import type { CgroupResources } from "../cgroups/resources.ts";
import { controllerList } from "../cgroups/v2/core.ts";
import { NotFoundError, TsboxError, UsageError } from "../errors.ts";
import type { Tracer } from "../runtime/trace.ts";
import type { Resources, Spec } from "../spec/types.ts";
import { now, state } from "../state/db.ts";
import {
  addResource,
  type ContainerRecord,
  listContainers,
  listResources,
} from "../state/containers.ts";
import type { Created } from "./create.ts";
import { registerUndo } from "./remove.ts";
import { type ResourceHost, statHostDevice } from "./resources.ts";

/** The group every container and user group lives under, in every hierarchy. */
export const DEFAULT_PARENT = "tsbox";

/** A prepared cgroup. */
export interface CgroupPlan {
  /** Group path relative to the hierarchy roots. */
  path: string;
  /** A cgroup v2 directory fd for clone3 CLONE_INTO_CGROUP (unified hosts only). */
  dirFd?: number;
  /** Mount cgroup2 inside the container. */
  mountCgroup2: boolean;
  /**
   * `tasks` files of the v1 hierarchies, where the child writes "0" to move
   * itself: a process moving itself skips the global cgroup_threadgroup_rwsem
   * and its RCU grace period (about 1.5 ms per hierarchy when the parent
   * writes the child's pid instead). See cgroup_procs_write_start().
   */
  selfJoin: string[];
  /** Moves `pid` into the group, in every hierarchy (when the child could not be started in it). */
  place(pid: number): void;
  /** Releases fds held for the start. */
  close(): void;
}

let cached: { mountinfo: string; layout: CgroupLayout; driver: CgroupDriver } | undefined;

/**
 * The host's cgroup layout and driver, detected from /proc/self/mountinfo
 * again only when that changed (the supervisor lives long; a hierarchy may be
 * mounted meanwhile). Requires root to change anything.
 */
export function cgroupHost(): { layout: CgroupLayout; driver: CgroupDriver } {
  const mountinfo = Deno.readTextFileSync("/proc/self/mountinfo");
  if (cached?.mountinfo !== mountinfo) {
    const layout = detectCgroups(mountinfo);
    cached = { mountinfo, layout, driver: driverFor(layout) };
  }
  return cached;
}

/** The host facts resource parsing needs (src/container/resources.ts). */
export function resourceHost(): ResourceHost {
  // Read on first use only: most containers set no limits.
  return {
    get cpus() {
      return readHostInfo().cpus.length;
    },
    get swapLimit() {
      const { layout } = cgroupHost();
      const v1mem = layout.v1.memory;
      return v1mem !== undefined
        ? pathExists(`${v1mem}/memory.memsw.limit_in_bytes`)
        : layout.v2Root !== undefined &&
          controllerList(layout.v2Root, "cgroup.controllers").includes("memory");
    },
    statDevice: statHostDevice,
  };
}

/**
 * Checks a group name: parts like container names, joined by "/" ("a/b").
 * Returns it normalized. Throws UsageError.
 */
export function checkGroupName(name: string): string {
  const n = name.replace(/^\/+|\/+$/g, "");
  const part = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
  if (!n || !n.split("/").every((p) => part.test(p) && !/^[0-9a-f]{64}$/.test(p))) {
    throw new UsageError(
      `invalid group name ${
        JSON.stringify(name)
      }: use [a-zA-Z0-9][a-zA-Z0-9_.-]* parts joined by "/"`,
    );
  }
  return n;
}

/** The cgroup path of a group ("tsbox/a/b"). */
export function groupPath(name: string): string {
  return `${DEFAULT_PARENT}/${name}`;
}

/** The cgroup path of a container: "tsbox/<id>", or "tsbox/<group>/<id>" with --cgroup-parent. */
export function containerCgroupPath(id: string, parent?: string): string {
  return parent ? `${groupPath(checkGroupName(parent))}/${id}` : `${DEFAULT_PARENT}/${id}`;
}

/**
 * The validation hook of createContainer: the parent group exists and the
 * host can enforce the spec's limits there (cpusets, parent quotas,
 * mounted controllers). Throws UsageError; changes nothing.
 */
export function checkCgroup(spec: Spec, parent?: string): void {
  const path = spec.linux?.cgroupsPath;
  if (!path) return;
  if (parent && !getGroup(checkGroupName(parent))) {
    throw new UsageError(
      `cgroup parent ${
        JSON.stringify(parent)
      } does not exist (create it with "tsbox group create ${parent}")`,
    );
  }
  cgroupHost().driver.validate(path, spec.linux?.resources ?? {});
}

/** Makes the cgroups of group `name` and its ancestors that are missing, with their limits. */
function ensureGroups(driver: CgroupDriver, name: string | undefined): void {
  if (!name) return;
  for (const prefix of pathPrefixes(name)) {
    const g = getGroup(prefix);
    if (!g) throw new UsageError(`group ${JSON.stringify(prefix)} does not exist`);
    if (!driver.exists(groupPath(prefix))) driver.create(groupPath(prefix), g.resources);
  }
}

/** Whether `e` or one of its causes is the syscall error `errno`. */
function hasErrno(e: unknown, errno: number): boolean {
  for (let c = e; c instanceof Error; c = c.cause) {
    if (c instanceof SyscallError && c.errno === errno) return true;
  }
  return false;
}

/**
 * Runs `fn`, again (twice at most) when it failed with ENOENT: another tsbox
 * process removed the empty default parent between our mkdirs (pruneDefaultParent).
 */
function retrying<T>(fn: () => T): T {
  for (let attempt = 1;; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (attempt === 3 || !hasErrno(e, Errno.ENOENT)) throw e;
    }
  }
}

/** Removes the default parent in every hierarchy if nothing is left in it. */
function pruneDefaultParent(driver: CgroupDriver): void {
  for (const dir of driver.dirs(DEFAULT_PARENT)) {
    try {
      rmdirOne(dir); // EBUSY while another container or group is there
    } catch { /* still in use */ }
  }
}

/**
 * Creates the container's cgroup with the spec's limits (recorded first) and
 * returns how to place its first process. Undefined for a spec without
 * linux.cgroupsPath. Requires root.
 */
export function prepareCgroup(c: Created, trace: Tracer): CgroupPlan | undefined {
  const path = c.spec.linux?.cgroupsPath;
  if (!path) return undefined;
  const { layout, driver } = cgroupHost();
  const parent = (c.record.options as { cgroupParent?: string }).cgroupParent;
  const existed = driver.exists(path);
  if (existed) {
    const left = driver.pids(path);
    if (left.length) {
      throw new TsboxError(
        `cgroup ${JSON.stringify(path)} still has processes (${left.join(", ")}): ` +
          "the container's previous run is alive; stop or remove it first",
      );
    }
  }
  addResource(c.record.id, "cgroup", path, { oomBase: existed ? driver.oomEvents(path) : 0 });
  trace.run(`create cgroup ${path}`, () =>
    retrying(() => {
      ensureGroups(driver, parent ? checkGroupName(parent) : undefined);
      driver.create(path, c.spec.linux?.resources ?? {});
    }));
  const cgroupns = (c.spec.linux?.namespaces ?? []).some((n) => n.type === "cgroup" && !n.path);
  // The cgroup2 part (all of it on unified hosts) by clone3 CLONE_INTO_CGROUP;
  // the v1 hierarchies by the child itself.
  let dirFd = layout.v2Root ? driver.cgroupDirFd(path) : undefined;
  const v2Dir = layout.v2Root ? `${layout.v2Root}/${path}` : undefined;
  const selfJoin = driver.dirs(path).filter((d) => d !== v2Dir).map((d) => `${d}/tasks`);
  return {
    path,
    ...(dirFd !== undefined ? { dirFd } : {}),
    selfJoin,
    mountCgroup2: layout.mode === "unified" && cgroupns,
    place: (pid) => driver.addProcess(path, pid),
    close: () => {
      if (dirFd !== undefined) sysRaw("close", [dirFd]);
      dirFd = undefined;
    },
  };
}

registerUndo("cgroup", async (_id, r) => {
  const { driver } = cgroupHost();
  await driver.destroy(r.key);
  pruneDefaultParent(driver);
});

function cgroupResource(rec: ContainerRecord): { path: string; oomBase: number } | undefined {
  const r = listResources(rec.id).find((x) => x.kind === "cgroup");
  if (!r) return undefined;
  return { path: r.key, oomBase: Number(r.data.oomBase ?? 0) };
}

/** The cgroup path of a container: the recorded one, else the spec's. */
export function containerCgroup(rec: ContainerRecord): string | undefined {
  return cgroupResource(rec)?.path ?? rec.spec.linux?.cgroupsPath;
}

/**
 * Call once the container's init has exited (foreground run, supervisor):
 * tells whether the OOM killer killed one of its processes, then SIGKILLs
 * whatever is left in its cgroup, so nothing outlives the container. The
 * group itself stays until its `cgroup` resource is released. Requires root.
 *
 * @example const { oomKilled } = await afterExit(rec);
 */
export async function afterExit(rec: ContainerRecord): Promise<{ oomKilled: boolean }> {
  const cg = cgroupResource(rec);
  if (!cg) return { oomKilled: false };
  const { driver } = cgroupHost();
  if (!driver.exists(cg.path)) return { oomKilled: false };
  const oomKilled = driver.oomEvents(cg.path) > cg.oomBase;
  await driver.kill(cg.path);
  return { oomKilled };
}

/** Limits of one level, in the units `inspect` shows. null: no limit. */
export interface LimitSummary {
  /** Memory limit, bytes. */
  memory: number | null;
  /** Memory + swap limit, bytes. */
  memorySwap: number | null;
  /** Process limit. */
  pids: number | null;
  /** CFS bandwidth in CPUs (quota / period). */
  cpus: number | null;
  /** cpuset CPUs and memory nodes, as lists ("0-1"). */
  cpusetCpus: string | null;
  cpusetMems: string | null;
}

/** What `inspect` shows of a container's or group's cgroup. */
export interface CgroupInfo {
  /** Path relative to the hierarchy roots ("tsbox/web/<id>"). */
  path: string;
  /** The group it is in (--cgroup-parent), null for the default parent. */
  parent: string | null;
  /** The directories that back it now, one per hierarchy ([] when not running). */
  dirs: string[];
  /** The limits asked of this level. */
  requested: LimitSummary;
  /** The limits in effect: the tightest along the chain of groups. */
  effective: LimitSummary;
}

function summary(e: EffectiveLimits): LimitSummary {
  return {
    memory: e.memory,
    memorySwap: e.memorySwap,
    pids: e.pids,
    cpus: e.cpuRate,
    cpusetCpus: e.cpus ? formatCpuList(e.cpus) : null,
    cpusetMems: e.mems ? formatCpuList(e.mems) : null,
  };
}

/** The requested and effective limits of `own` under group `parent`. */
function info(path: string, parent: string | null, own: CgroupResources): CgroupInfo {
  const chain = parent ? pathPrefixes(parent).map((p) => getGroup(p)?.resources ?? {}) : [];
  const host = readHostInfo();
  const eff = effectiveLimits([...chain, own], host).at(-1)!;
  return {
    path,
    parent,
    dirs: cgroupHost().driver.dirs(path),
    requested: summary(effectiveLimits([own])[0]!),
    effective: summary(eff),
  };
}

/**
 * A container's cgroup for `inspect`: its path, the limits it asked for and
 * those in effect (a group's tighter limit wins).
 *
 * @example cgroupInfo(rec).effective.memory // 67108864 under a 64 MiB group
 */
export function cgroupInfo(rec: ContainerRecord): CgroupInfo | undefined {
  const path = containerCgroup(rec);
  if (!path) return undefined;
  const parent = (rec.options as { cgroupParent?: string }).cgroupParent;
  return info(path, parent ? checkGroupName(parent) : null, rec.spec.linux?.resources ?? {});
}

// ---------------------------------------------------------------- groups

/** A group made by `tsbox group create`. */
export interface GroupRecord {
  name: string;
  resources: Resources;
  created: string;
}

interface GroupRow {
  name: string;
  resources: string;
  created: string;
}

const fromRow = (r: GroupRow): GroupRecord => ({
  name: r.name,
  resources: JSON.parse(r.resources),
  created: r.created,
});

/** The group named `name`, or undefined. */
export function getGroup(name: string): GroupRecord | undefined {
  const r = state().get<GroupRow>("SELECT * FROM groups WHERE name = ?", name);
  return r ? fromRow(r) : undefined;
}

/** Every group, parents before children. */
export function listGroups(): GroupRecord[] {
  return state().all<GroupRow>("SELECT * FROM groups ORDER BY name").map(fromRow);
}

/** The group's parent name ("a" for "a/b"), undefined at the top. */
function parentOf(name: string): string | undefined {
  const i = name.lastIndexOf("/");
  return i < 0 ? undefined : name.slice(0, i);
}

/**
 * Creates group `name` (its parent must exist) with `resources`: recorded,
 * then made in every hierarchy under tsbox/. Throws UsageError for a bad
 * name or limits, having changed nothing. Requires root.
 *
 * @example createGroup("web", { memory: { limit: 256 << 20 } });
 */
export function createGroup(name: string, resources: Resources): GroupRecord {
  const n = checkGroupName(name);
  const { driver } = cgroupHost();
  const parent = parentOf(n);
  if (getGroup(n)) throw new UsageError(`group ${JSON.stringify(n)} already exists`);
  if (parent && !getGroup(parent)) {
    throw new UsageError(`parent group ${JSON.stringify(parent)} does not exist`);
  }
  driver.validate(groupPath(n), resources);
  state().run(
    "INSERT INTO groups (name, resources, created) VALUES (?, ?, ?)",
    n,
    JSON.stringify(resources),
    now(),
  );
  try {
    retrying(() => {
      ensureGroups(driver, parent);
      driver.create(groupPath(n), resources);
    });
  } catch (e) {
    state().run("DELETE FROM groups WHERE name = ?", n);
    throw e;
  }
  return getGroup(n)!;
}

/** Containers (any state) whose --cgroup-parent is group `name`. */
function groupContainers(name: string): ContainerRecord[] {
  return listContainers().filter((c) => {
    const p = (c.options as { cgroupParent?: string }).cgroupParent;
    return p !== undefined && p.replace(/^\/+|\/+$/g, "") === name;
  });
}

/**
 * Removes an empty group: no child groups, no containers. Requires root.
 */
export async function removeGroup(name: string): Promise<void> {
  const n = checkGroupName(name);
  if (!getGroup(n)) throw new NotFoundError(`no such group: ${n}`);
  const children = listGroups().filter((g) => g.name.startsWith(`${n}/`)).map((g) => g.name);
  if (children.length) {
    throw new UsageError(`cannot remove group ${n}: it has child groups: ${children.join(", ")}`);
  }
  const users = groupContainers(n).map((c) => c.name);
  if (users.length) {
    throw new UsageError(
      `cannot remove group ${n}: it is the parent of containers: ${users.join(", ")}`,
    );
  }
  const { driver } = cgroupHost();
  await driver.destroy(groupPath(n));
  state().run("DELETE FROM groups WHERE name = ?", n);
  pruneDefaultParent(driver);
}

/** What `tsbox group inspect` shows. */
export interface GroupInfo extends CgroupInfo {
  name: string;
  created: string;
  resources: Resources;
  /** Names of the containers created under it. */
  containers: string[];
}

/** A group's cgroup, requested and effective limits, and containers. */
export function groupInfo(name: string): GroupInfo {
  const n = checkGroupName(name);
  const g = getGroup(n);
  if (!g) throw new NotFoundError(`no such group: ${n}`);
  return {
    name: n,
    created: g.created,
    resources: g.resources,
    ...info(groupPath(n), parentOf(n) ?? null, g.resources),
    containers: groupContainers(n).map((c) => c.name),
  };
}
