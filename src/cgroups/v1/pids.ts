// cgroup v1 "pids" controller: pids.max and pids.current.
// Documentation/admin-guide/cgroup-v1/pids.rst.

import { tryReadValue, writeValue } from "../fs.ts";
import { v2Limit } from "../resources.ts";
import type { V1Controller } from "./controller.ts";

/** The v1 pids controller. */
export const pids: V1Controller = {
  name: "pids",
  serves: "pids",
  apply(dir, r) {
    if (r.pids?.limit) writeValue(`${dir}/pids.max`, v2Limit(r.pids.limit));
  },
  stats(dir, s) {
    const cur = tryReadValue(`${dir}/pids.current`);
    if (cur === undefined) return;
    s.pids.current = Number(cur);
    const max = tryReadValue(`${dir}/pids.max`);
    s.pids.limit = max === undefined || max === "max" ? null : Number(max);
  },
};
