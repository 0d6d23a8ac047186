// cgroup v2 "memory" controller: memory.max (limit), memory.low
// (reservation), memory.swap.max (swap alone: OCI swap - limit),
// memory.oom.group, and the figures of memory.current, memory.peak,
// memory.stat and memory.events (oom_kill).
// Documentation/admin-guide/cgroup-v2.rst ("Memory").

import { Errno } from "../../../ffi/errno.ts";
import { SyscallError } from "../../../ffi/syscall.ts";
import { parseFlatKeyed, tryReadText, tryReadValue, writeValue } from "../fs.ts";
import { swapMaxV2, v2Limit } from "../resources.ts";
import type { V2Controller } from "./controller.ts";

/** The v2 memory controller. */
export const memory: V2Controller = {
  serves: "memory",
  controller: "memory",
  apply(dir, r) {
    const m = r.memory;
    if (!m) return;
    const swap = swapMaxV2(m.swap, m.limit);
    if (swap !== undefined) {
      try {
        writeValue(`${dir}/memory.swap.max`, swap);
      } catch (e) {
        // Without swap support there is no memory.swap.max: "no swap" and
        // "unlimited swap" are then true anyway (as runc treats them).
        const harmless = swap === "max" || swap === "0";
        if (!(harmless && e instanceof SyscallError && e.errno === Errno.ENOENT)) throw e;
      }
    }
    if (m.limit) writeValue(`${dir}/memory.max`, v2Limit(m.limit));
    if (m.reservation) writeValue(`${dir}/memory.low`, v2Limit(m.reservation));
    if (m.oomGroup !== undefined) writeValue(`${dir}/memory.oom.group`, m.oomGroup ? "1" : "0");
  },
  stats(dir, s) {
    const cur = tryReadValue(`${dir}/memory.current`);
    if (cur === undefined) return;
    s.memory.usage = Number(cur);
    const max = tryReadValue(`${dir}/memory.max`);
    s.memory.limit = max === undefined || max === "max" ? null : Number(max);
    const peak = tryReadValue(`${dir}/memory.peak`);
    if (peak !== undefined) s.memory.maxUsage = Number(peak);
    const st = parseFlatKeyed(tryReadText(`${dir}/memory.stat`) ?? "");
    if (st.has("file")) s.memory.cache = st.get("file")!;
    if (st.has("inactive_file")) s.memory.inactiveFile = st.get("inactive_file")!;
    s.oomKills = oomKillsV2(dir);
  },
};

/** The oom_kill counter of memory.events (this group and its descendants); 0 when missing. */
export function oomKillsV2(dir: string): number {
  return parseFlatKeyed(tryReadText(`${dir}/memory.events`) ?? "").get("oom_kill") ?? 0;
}
