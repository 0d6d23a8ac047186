// cgroup v2 "pids" controller: pids.max and pids.current.
// Documentation/admin-guide/cgroup-v2.rst ("PID").

import { tryReadValue, writeValue } from "../fs.ts";
import { v2Limit } from "../resources.ts";
import type { V2Controller } from "./controller.ts";

/** The v2 pids controller. */
export const pids: V2Controller = {
  serves: "pids",
  controller: "pids",
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
