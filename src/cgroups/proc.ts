// /proc/PID/cgroup (proc(5), cgroups(7)): which group a process is in, one
// line per hierarchy, "hierarchy-ID:controller-list:path". The cgroup v2 line
// is "0::/path"; a v1 line names its controllers ("4:memory:/path").

/** One line of /proc/PID/cgroup. */
export interface ProcCgroupEntry {
  /** Hierarchy ID; 0 for cgroup v2. */
  hierarchy: number;
  /** Controllers bound to the hierarchy ("name=systemd" for a named one); [] for v2. */
  controllers: string[];
  /** Path of the group relative to the hierarchy's root (or the cgroup namespace root). */
  path: string;
}

/**
 * Parses /proc/PID/cgroup text.
 *
 * @example parseProcCgroup("0::/tsbox/abc\n")[0].path // "/tsbox/abc"
 */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      hierarchy: Number(m[1]),
      controllers: m[2] ? m[2].split(",") : [],
      path: m[3]!,
    });
  }
  return out;
}

/** The path of the process in the hierarchy of `controller`, or in v2 when `controller` is "". */
export function procCgroupPath(
  entries: readonly ProcCgroupEntry[],
  controller: string,
): string | undefined {
  if (controller === "") return entries.find((e) => e.hierarchy === 0)?.path;
  return entries.find((e) => e.controllers.includes(controller))?.path;
}

/** Formats entries back into /proc/PID/cgroup lines. */
export function formatProcCgroup(entries: readonly ProcCgroupEntry[]): string {
  return entries.map((e) => `${e.hierarchy}:${e.controllers.join(",")}:${e.path}\n`).join("");
}
