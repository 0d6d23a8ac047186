// Where tsbox puts cgroups, as a policy of names: every container and user
// group lives under one parent, "tsbox", in every hierarchy:
//
//   $hierarchy/tsbox/                     default parent (removed when empty)
//   ├── <container id>/                   a container (spec.linux.cgroupsPath)
//   └── <group>/[<group>/]<container id>  `tsbox group create a/b`, `run --cgroup-parent a/b`

import { UsageError } from "../errors.ts";

/** The group every container and user group lives under, in every hierarchy. */
export const DEFAULT_PARENT = "tsbox";

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
