// cgroup v1 "memory" controller: memory.limit_in_bytes,
// memory.soft_limit_in_bytes, memory.memsw.limit_in_bytes (memory + swap;
// present only with swap accounting), memory.swappiness, memory.oom_control,
// and the figures in memory.usage_in_bytes, memory.max_usage_in_bytes and
// memory.stat. Documentation/admin-guide/cgroup-v1/memory.rst.

import { TsboxError } from "../../errors.ts";
import {
  parseFlatKeyed,
  pathExists,
  readText,
  tryReadText,
  tryReadValue,
  writeValue,
} from "../fs.ts";
import { type V1Controller, v1Limit } from "./controller.ts";

/** The v1 memory controller. */
export const memory: V1Controller = {
  name: "memory",
  serves: "memory",
  apply(dir, r) {
    const m = r.memory;
    if (!m) return;
    const limit = m.limit ?? 0, swap = m.swap ?? 0;
    const memsw = `${dir}/memory.memsw.limit_in_bytes`;
    const hasMemsw = pathExists(memsw);
    if (swap > 0 && !hasMemsw) {
      throw new TsboxError(
        `set memory+swap limit: ${JSON.stringify(memsw)} is missing ` +
          "(the kernel does no swap accounting; boot with swapaccount=1)",
      );
    }
    const setLimit = () => limit && writeValue(`${dir}/memory.limit_in_bytes`, String(limit));
    const setSwap = () => swap && hasMemsw && writeValue(memsw, String(swap));
    // memsw must stay >= the memory limit at every step: when raising both,
    // raise memsw first; when lowering, lower the memory limit first.
    if (limit && swap) {
      const cur = Number(readText(`${dir}/memory.limit_in_bytes`).trim());
      if (swap === -1 || cur < swap) {
        setSwap();
        setLimit();
      } else {
        setLimit();
        setSwap();
      }
    } else {
      setLimit();
      setSwap();
    }
    if (m.reservation) {
      writeValue(`${dir}/memory.soft_limit_in_bytes`, String(m.reservation));
    }
    if (m.swappiness !== undefined && m.swappiness !== -1) {
      writeValue(`${dir}/memory.swappiness`, String(m.swappiness));
    }
    if (m.disableOOMKiller) writeValue(`${dir}/memory.oom_control`, "1");
  },
  stats(dir, s) {
    const usage = tryReadValue(`${dir}/memory.usage_in_bytes`);
    if (usage === undefined) return;
    s.memory.usage = Number(usage);
    s.memory.limit = v1Limit(Number(tryReadValue(`${dir}/memory.limit_in_bytes`) ?? Infinity));
    const max = tryReadValue(`${dir}/memory.max_usage_in_bytes`);
    if (max !== undefined) s.memory.maxUsage = Number(max);
    const st = parseFlatKeyed(tryReadText(`${dir}/memory.stat`) ?? "");
    const cache = st.get("total_cache") ?? st.get("cache");
    if (cache !== undefined) s.memory.cache = cache;
    const inactive = st.get("total_inactive_file") ?? st.get("inactive_file");
    if (inactive !== undefined) s.memory.inactiveFile = inactive;
    s.oomKills = oomKills(dir);
  },
};

/** The `oom_kill` counter of memory.oom_control (0 when missing). */
export function oomKills(dir: string): number {
  return parseFlatKeyed(tryReadText(`${dir}/memory.oom_control`) ?? "").get("oom_kill") ?? 0;
}

/** memory.stat's hierarchical_memory_limit: the tightest limit along the path; null for none. */
export function hierarchicalMemoryLimit(dir: string): number | null {
  const st = parseFlatKeyed(tryReadText(`${dir}/memory.stat`) ?? "");
  return v1Limit(st.get("hierarchical_memory_limit"));
}
