// cgroup v1 "net_prio" controller: net_prio.ifpriomap ("IFNAME PRIO" per
// write). v1 only. Documentation/admin-guide/cgroup-v1/net_prio.rst.

import { writeCommand } from "../fs.ts";
import type { V1Controller } from "./controller.ts";

/** The v1 net_prio controller. */
export const netPrio: V1Controller = {
  name: "net_prio",
  serves: "net_prio",
  apply(dir, r) {
    for (const p of r.network?.priorities ?? []) {
      writeCommand(`${dir}/net_prio.ifpriomap`, `${p.name} ${p.priority}`);
    }
  },
};
