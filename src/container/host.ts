// Facts about the host that validation needs: tsbox's own resource limits
// (/proc/self/limits, see proc(5)), its capabilities (/proc/self/status) and,
// for --privileged, the host's device nodes.

import { readFileText } from "../../ffi/file.ts";
import type { DeviceNode } from "../spec/types.ts";

const LIMIT_NAMES: Record<string, string> = {
  "Max cpu time": "RLIMIT_CPU",
  "Max file size": "RLIMIT_FSIZE",
  "Max data size": "RLIMIT_DATA",
  "Max stack size": "RLIMIT_STACK",
  "Max core file size": "RLIMIT_CORE",
  "Max resident set": "RLIMIT_RSS",
  "Max processes": "RLIMIT_NPROC",
  "Max open files": "RLIMIT_NOFILE",
  "Max locked memory": "RLIMIT_MEMLOCK",
  "Max address space": "RLIMIT_AS",
  "Max file locks": "RLIMIT_LOCKS",
  "Max pending signals": "RLIMIT_SIGPENDING",
  "Max msgqueue size": "RLIMIT_MSGQUEUE",
  "Max nice priority": "RLIMIT_NICE",
  "Max realtime priority": "RLIMIT_RTPRIO",
  "Max realtime timeout": "RLIMIT_RTTIME",
};

/** Parses /proc/PID/limits text into [soft, hard] by RLIMIT name (unlimited = 2^64-1). */
export function parseLimits(text: string): Record<string, [bigint, bigint]> {
  const out: Record<string, [bigint, bigint]> = {};
  const v = (s: string) => (s === "unlimited" ? 0xffffffffffffffffn : BigInt(s));
  for (const line of text.split("\n").slice(1)) {
    const m = line.match(/^(.+?)\s{2,}(\d+|unlimited)\s+(\d+|unlimited)/);
    const name = m && LIMIT_NAMES[m[1]!.trim()];
    if (m && name) out[name] = [v(m[2]!), v(m[3]!)];
  }
  return out;
}

/** tsbox's own limits, which a container may not exceed without CAP_SYS_RESOURCE. */
export function hostLimits(): Record<string, [bigint, bigint]> {
  return parseLimits(readFileText("/proc/self/limits"));
}

/** Whether this process's effective set holds capability `cap`. */
export function holdsCapability(cap: number): boolean {
  const m = readFileText("/proc/self/status").match(/^CapEff:\s*([0-9a-f]+)/m);
  return m ? ((BigInt(`0x${m[1]}`) >> BigInt(cap)) & 1n) === 1n : false;
}

/** The host's character and block devices directly under /dev (for --privileged). */
export function hostDevices(): DeviceNode[] {
  const out: DeviceNode[] = [];
  for (const e of Deno.readDirSync("/dev")) {
    if (e.isDirectory || e.isSymlink) continue;
    try {
      const st = Deno.lstatSync(`/dev/${e.name}`);
      if (!st.isCharDevice && !st.isBlockDevice) continue;
      const rdev = st.rdev ?? 0;
      const major = ((rdev >> 8) & 0xfff) | Math.floor(rdev / 2 ** 32) & ~0xfff;
      const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
      out.push({
        type: st.isBlockDevice ? "b" : "c",
        path: `/dev/${e.name}`,
        major,
        minor,
        fileMode: (st.mode ?? 0o600) & 0o7777,
        uid: st.uid ?? 0,
        gid: st.gid ?? 0,
      });
    } catch { /* vanished */ }
  }
  return out;
}

/** This process's capability bounding set. */
export function boundingSet(): bigint {
  const m = readFileText("/proc/self/status").match(/^CapBnd:\s*([0-9a-f]+)/m);
  return m ? BigInt(`0x${m[1]}`) : (1n << 64n) - 1n;
}
