// Every container's cgroup: when it is checked, made, joined, emptied and
// removed. The kernel side is the cgroup library (src/cgroups/, one driver
// for v1, v2 and hybrid hosts); names are cgroup_paths.ts, user groups
// groups.ts.
//
// - create: the path is checked (the parent group exists, the host can
//   enforce the limits) before the record is written (checkCgroup); the group
//   is recorded as a `cgroup` resource before it is made (prepareCgroup).
// - start and exec: a new process joins the group before its first
//   instruction (joinPlan): clone3 CLONE_INTO_CGROUP for the v2 hierarchy,
//   and the process writes "0" to the v1 hierarchies' files itself while it
//   waits on the sync pipe (src/runtime/executor.ts, exec.ts); cgroup_join.ts.
// - exit: afterExit reads the OOM-kill counter and kills whatever is left, so
//   no process outlives its container's init; the undo destroys the group.
// Documentation/admin-guide/cgroup-v2.rst, cgroup-v1/cgroups.rst; clone3(2)
// CLONE_INTO_CGROUP.

import { Errno } from "../../ffi/errno.ts";
import { SyscallError } from "../../ffi/syscall.ts";
import { pathExists } from "../cgroups/fs.ts";
import { readHostInfo } from "../cgroups/host.ts";
import { cgroupHost } from "../cgroups/open.ts";
import { controllerList } from "../cgroups/v2/core.ts";
import { loadConfig } from "../config.ts";
import { TsboxError, UsageError } from "../errors.ts";
import type { Tracer } from "../runtime/trace.ts";
import type { Spec } from "../spec/types.ts";
import { type ResourceHost, statHostDevice } from "../spec/resources.ts";
import { addResource, type ContainerRecord, listResources } from "../state/containers.ts";
import { getGroup } from "../state/groups.ts";
import { checkGroupName } from "./cgroup_paths.ts";
import { type JoinPlan, joinPlan } from "./cgroup_join.ts";
import type { Created } from "./create.ts";
import { type CgroupInfo, ensureGroups, limitsInfo, pruneDefaultParent } from "./groups.ts";
import { registerUndo } from "./remove.ts";

export { cgroupHost, type JoinPlan, joinPlan };
export { checkGroupName, containerCgroupPath, DEFAULT_PARENT, groupPath } from "./cgroup_paths.ts";

/** A prepared cgroup for a container's first process. */
export interface CgroupPlan extends JoinPlan {
  /** Mount cgroup2 inside the container. */
  mountCgroup2: boolean;
}

/** The host facts resource parsing needs (src/spec/resources.ts). */
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
    get defaultPidsLimit() {
      return loadConfig().pidsLimit;
    },
  };
}

/**
 * The validation hook of container creation: the parent group exists and the
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
export function retrying<T>(fn: () => T): T {
  for (let attempt = 1;; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (attempt === 3 || !hasErrno(e, Errno.ENOENT)) throw e;
    }
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
  const parent = c.record.config.cgroupParent;
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
  return { ...joinPlan(path), mountCgroup2: layout.mode === "unified" && cgroupns };
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

/**
 * A container's cgroup for `inspect`: its path, the limits it asked for and
 * those in effect (a group's tighter limit wins).
 *
 * @example cgroupInfo(rec).effective.memory // 67108864 under a 64 MiB group
 */
export function cgroupInfo(rec: ContainerRecord): CgroupInfo | undefined {
  const path = containerCgroup(rec);
  if (!path) return undefined;
  const parent = rec.config.cgroupParent;
  return limitsInfo(path, parent ? checkGroupName(parent) : null, rec.spec.linux?.resources ?? {});
}
