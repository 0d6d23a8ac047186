// The core files of every cgroup v2 group (cgroup.*): cgroup.controllers,
// cgroup.subtree_control, cgroup.procs, cgroup.events, cgroup.kill.
// Documentation/admin-guide/cgroup-v2.rst ("Core Interface Files",
// "Enabling and Disabling", "no internal process" constraint).

import { Errno } from "../../../ffi/errno.ts";
import { SyscallError } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { parseFlatKeyed, pathExists, tryReadValue, writeCommand, writeValue } from "../fs.ts";

/** The controllers listed in a space-separated file (cgroup.controllers, cgroup.subtree_control). */
export function controllerList(
  dir: string,
  file: "cgroup.controllers" | "cgroup.subtree_control",
): string[] {
  return (tryReadValue(`${dir}/${file}`) ?? "").split(/\s+/).filter(Boolean);
}

/**
 * Enables `wanted` controllers for the children of `dir` (one write of
 * "+a +b" to cgroup.subtree_control), skipping those already enabled.
 * Throws when one is not in `dir`'s cgroup.controllers.
 */
export function enableControllers(dir: string, wanted: readonly string[]): void {
  if (wanted.length === 0) return;
  const available = controllerList(dir, "cgroup.controllers");
  const missing = wanted.filter((c) => !available.includes(c));
  if (missing.length) {
    throw new TsboxError(
      `enable ${missing.join(", ")} in ${JSON.stringify(dir)}: not in its cgroup.controllers (${
        available.join(" ") || "none"
      })`,
    );
  }
  const enabled = controllerList(dir, "cgroup.subtree_control");
  const todo = wanted.filter((c) => !enabled.includes(c));
  if (todo.length === 0) return;
  try {
    writeCommand(`${dir}/cgroup.subtree_control`, todo.map((c) => `+${c}`).join(" "));
  } catch (e) {
    if (e instanceof SyscallError && e.errno === Errno.EBUSY) {
      throw new TsboxError(
        `enable ${todo.join(", ")} for the children of ${JSON.stringify(dir)}: ` +
          'the group has processes of its own (cgroup v2 "no internal processes" rule)',
        { cause: e },
      );
    }
    throw e;
  }
}

/** The keys of cgroup.events ("populated", "frozen"); empty when the file is missing. */
export function cgroupEvents(dir: string): Map<string, number> {
  return parseFlatKeyed(tryReadValue(`${dir}/cgroup.events`) ?? "");
}

/** Moves `pid` into the group `dir`. */
export function addProcessV2(dir: string, pid: number): void {
  writeCommand(`${dir}/cgroup.procs`, String(pid));
}

/** Whether the group has cgroup.kill (Linux 5.14+). */
export function hasKill(dir: string): boolean {
  return pathExists(`${dir}/cgroup.kill`);
}

/** SIGKILLs every process of `dir` and its descendants through cgroup.kill. */
export function killV2(dir: string): void {
  writeValue(`${dir}/cgroup.kill`, "1");
}
