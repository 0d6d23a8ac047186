// The cgroup tree under tsbox's parent, as `tsbox ui` draws it: the default
// parent, the groups of `tsbox group` and the containers with live
// processes, each with the limits asked for (records), the limits in effect
// along its chain, and what its kernel files say now (limits and usage:
// src/cgroups/limits.ts).

import { pathPrefixes } from "../cgroups/driver.ts";
import { type KernelLimits, readKernelLimits } from "../cgroups/limits.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { cgroupHost, cgroupInfo, DEFAULT_PARENT, groupPath } from "./cgroup.ts";
import { groupInfo, type LimitSummary, listGroups } from "./groups.ts";

/** One group of the tree. */
export interface CgroupNode {
  /** "tsbox", "tsbox/web", "tsbox/web/<id>". */
  path: string;
  /** The group's name, or the container's. */
  name: string;
  kind: "parent" | "group" | "container";
  requested?: LimitSummary;
  effective?: LimitSummary;
  kernel: KernelLimits;
  children: CgroupNode[];
}

/** The tree of tsbox's parent group, with `live` containers as leaves. Requires root to read cgroupfs. */
export function cgroupTree(live: readonly ContainerRecord[]): CgroupNode {
  const { layout, driver } = cgroupHost();
  const node = (
    path: string,
    name: string,
    kind: CgroupNode["kind"],
    req?: { requested: LimitSummary; effective: LimitSummary },
  ): CgroupNode => ({
    path,
    name,
    kind,
    ...(req ? { requested: req.requested, effective: req.effective } : {}),
    kernel: driver.exists(path) ? readKernelLimits(layout, path) : {},
    children: [],
  });
  const root = node(DEFAULT_PARENT, DEFAULT_PARENT, "parent");
  const byPath = new Map([[root.path, root]]);
  const attach = (n: CgroupNode) => {
    const prefixes = pathPrefixes(n.path);
    const parent = byPath.get(prefixes.at(-2) ?? "") ?? root;
    parent.children.push(n);
    byPath.set(n.path, n);
  };
  for (const g of listGroups()) {
    let info;
    try {
      info = groupInfo(g.name);
    } catch {
      continue;
    }
    attach(node(groupPath(g.name), g.name, "group", info));
  }
  for (const c of live) {
    const info = cgroupInfo(c);
    if (info) attach(node(info.path, c.name, "container", info));
  }
  return root;
}
