// Groups: cgroup parents with limits that containers run under
// (`tsbox group create a/b --memory 256m`, `run --cgroup-parent a/b`), and
// what `inspect` shows of a cgroup: the limits asked of each level and
// those in effect (the tightest along the chain). Records live in
// src/state/groups.ts; the kernel side is src/cgroups/.

import { type CgroupDriver, pathPrefixes } from "../cgroups/driver.ts";
import { type EffectiveLimits, effectiveLimits } from "../cgroups/effective.ts";
import { formatCpuList } from "../cgroups/cpulist.ts";
import { rmdirOne } from "../cgroups/fs.ts";
import { readHostInfo } from "../cgroups/host.ts";
import { cgroupHost } from "../cgroups/open.ts";
import type { CgroupResources } from "../cgroups/resources.ts";
import { NotFoundError, UsageError } from "../errors.ts";
import type { Resources } from "../spec/types.ts";
import { type ContainerRecord, listContainers } from "../state/containers.ts";
import {
  deleteGroup,
  getGroup,
  type GroupRecord,
  insertGroup,
  listGroups,
} from "../state/groups.ts";
import { checkGroupName, DEFAULT_PARENT, groupPath } from "./cgroup_paths.ts";
import { retrying } from "./cgroup.ts";

export { getGroup, type GroupRecord, listGroups };

/** Makes the cgroups of group `name` and its ancestors that are missing, with their limits. */
export function ensureGroups(driver: CgroupDriver, name: string | undefined): void {
  if (!name) return;
  for (const prefix of pathPrefixes(name)) {
    const g = getGroup(prefix);
    if (!g) throw new UsageError(`group ${JSON.stringify(prefix)} does not exist`);
    if (!driver.exists(groupPath(prefix))) driver.create(groupPath(prefix), g.resources);
  }
}

/** Removes the default parent in every hierarchy if nothing is left in it. */
export function pruneDefaultParent(driver: CgroupDriver): void {
  for (const dir of driver.dirs(DEFAULT_PARENT)) {
    try {
      rmdirOne(dir); // EBUSY while another container or group is there
    } catch { /* still in use */ }
  }
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

/** The requested and effective limits of `own` at `path` under group `parent`. */
export function limitsInfo(path: string, parent: string | null, own: CgroupResources): CgroupInfo {
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
  insertGroup(n, resources);
  try {
    retrying(() => {
      ensureGroups(driver, parent);
      driver.create(groupPath(n), resources);
    });
  } catch (e) {
    deleteGroup(n);
    throw e;
  }
  return getGroup(n)!;
}

/** Containers (any state) whose --cgroup-parent is group `name`. */
function groupContainers(name: string): ContainerRecord[] {
  return listContainers().filter((c) => {
    const p = c.config.cgroupParent;
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
  deleteGroup(n);
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
    ...limitsInfo(groupPath(n), parentOf(n) ?? null, g.resources),
    containers: groupContainers(n).map((c) => c.name),
  };
}
