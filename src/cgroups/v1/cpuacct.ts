// cgroup v1 "cpuacct" controller: CPU usage figures only (cpuacct.usage,
// cpuacct.usage_percpu, cpuacct.stat). Documentation/admin-guide/cgroup-v1/cpuacct.rst.

import { parseFlatKeyed, tryReadValue } from "../fs.ts";
import type { V1Controller } from "./controller.ts";

/** cpuacct.stat counts USER_HZ ticks; USER_HZ is 100 on every Linux ABI. */
const NS_PER_TICK = 1e9 / 100;

/** The v1 cpuacct controller. */
export const cpuacct: V1Controller = {
  name: "cpuacct",
  stats(dir, s) {
    const usage = tryReadValue(`${dir}/cpuacct.usage`);
    if (usage !== undefined) s.cpu.usageNs = Number(usage);
    const per = tryReadValue(`${dir}/cpuacct.usage_percpu`);
    if (per) s.cpu.perCpuNs = per.split(/\s+/).map(Number);
    const st = parseFlatKeyed(tryReadValue(`${dir}/cpuacct.stat`) ?? "");
    if (st.has("user")) s.cpu.userNs = st.get("user")! * NS_PER_TICK;
    if (st.has("system")) s.cpu.systemNs = st.get("system")! * NS_PER_TICK;
  },
};
