// cgroup v1 "cpu" controller: CFS shares and bandwidth (cpu.shares,
// cpu.cfs_period_us, cpu.cfs_quota_us), real-time bandwidth (cpu.rt_period_us,
// cpu.rt_runtime_us) and throttling figures (cpu.stat).
// Documentation/scheduler/sched-bwc.rst, sched-rt-group.rst.

import { Errno } from "../../../ffi/errno.ts";
import { SyscallError } from "../../../ffi/syscall.ts";
import { parseFlatKeyed, tryReadText, writeValue } from "../fs.ts";
import type { V1Controller } from "./controller.ts";

/** The v1 cpu controller. */
export const cpu: V1Controller = {
  name: "cpu",
  serves: "cpu",
  apply(dir, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.shares) writeValue(`${dir}/cpu.shares`, String(c.shares));
    // The kernel checks quota/period against the parent after each write, so a
    // shorter period with the old quota can be refused (EINVAL): then set the
    // quota first and the period again (as runc does).
    let retryPeriod = false;
    if (c.period) {
      try {
        writeValue(`${dir}/cpu.cfs_period_us`, String(c.period));
      } catch (e) {
        if (!(e instanceof SyscallError && e.errno === Errno.EINVAL && c.quota)) throw e;
        retryPeriod = true;
      }
    }
    if (c.quota) {
      writeValue(`${dir}/cpu.cfs_quota_us`, String(c.quota));
      if (retryPeriod) writeValue(`${dir}/cpu.cfs_period_us`, String(c.period));
    }
    // The runtime must fit the period, so the period goes first.
    if (c.realtimePeriod) writeValue(`${dir}/cpu.rt_period_us`, String(c.realtimePeriod));
    if (c.realtimeRuntime) writeValue(`${dir}/cpu.rt_runtime_us`, String(c.realtimeRuntime));
  },
  stats(dir, s) {
    const st = parseFlatKeyed(tryReadText(`${dir}/cpu.stat`) ?? "");
    if (!st.has("nr_periods")) return;
    s.cpu.throttled = {
      periods: st.get("nr_periods") ?? 0,
      throttledPeriods: st.get("nr_throttled") ?? 0,
      throttledNs: st.get("throttled_time") ?? 0,
    };
  },
};

/** The CFS rate (quota/period, in CPUs) set in `dir`; null for none or when unreadable. */
export function cfsRate(dir: string): number | null {
  const quota = Number(tryReadText(`${dir}/cpu.cfs_quota_us`)?.trim() ?? "-1");
  const period = Number(tryReadText(`${dir}/cpu.cfs_period_us`)?.trim() ?? "0");
  return quota > 0 && period > 0 ? quota / period : null;
}
