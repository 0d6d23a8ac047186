// cgroup v2 "cpu" controller: cpu.weight (from OCI cpu.shares), cpu.max
// ("QUOTA PERIOD" or "max PERIOD") and the figures of cpu.stat (which every
// group has, controller enabled or not). Documentation/admin-guide/cgroup-v2.rst ("CPU").

import { parseFlatKeyed, tryReadText, writeValue } from "../fs.ts";
import { cpuMax, sharesToWeight } from "../resources.ts";
import type { V2Controller } from "./controller.ts";

/** The v2 cpu controller. */
export const cpu: V2Controller = {
  serves: "cpu",
  controller: "cpu",
  apply(dir, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.shares) writeValue(`${dir}/cpu.weight`, String(sharesToWeight(c.shares)));
    const max = cpuMax(c.quota, c.period);
    if (max !== undefined) writeValue(`${dir}/cpu.max`, max);
  },
  stats(dir, s) {
    const st = parseFlatKeyed(tryReadText(`${dir}/cpu.stat`) ?? "");
    if (st.has("usage_usec")) s.cpu.usageNs = st.get("usage_usec")! * 1000;
    if (st.has("user_usec")) s.cpu.userNs = st.get("user_usec")! * 1000;
    if (st.has("system_usec")) s.cpu.systemNs = st.get("system_usec")! * 1000;
    if (st.has("nr_periods")) {
      s.cpu.throttled = {
        periods: st.get("nr_periods") ?? 0,
        throttledPeriods: st.get("nr_throttled") ?? 0,
        throttledNs: (st.get("throttled_usec") ?? 0) * 1000,
      };
    }
  },
};
