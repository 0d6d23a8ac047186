// Identity of a process over time: the boot it belongs to and its start
// time (field 22 of /proc/PID/stat, see proc(5)), so a recorded pid is never
// confused with a later process that got the same number.

/** Boot id of this kernel run (/proc/sys/kernel/random/boot_id). */
export function bootId(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return "";
  }
}

/** Start time of `pid` in clock ticks since boot, or null if there is no such process. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}
