// Operations on a group and its descendants that cgroup v1 and v2 share:
// listing member processes (cgroup.procs), SIGKILLing them (kill(2)), and
// removing the directories leaf-first (rmdir(2); a group with live tasks or
// children is EBUSY). Documentation/admin-guide/cgroup-v2.rst ("Processes",
// "Removing cgroups") and cgroup-v1/cgroups.rst (section 2.3).

import { SIGKILL } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { ErrorList, TsboxError } from "../errors.ts";
import { dirsLeafFirst, parsePids, rmdirOne, sleep, tryReadText } from "./fs.ts";

/** PIDs in `dir` and every group below it (cgroup.procs), sorted and distinct. */
export function pidsRecursive(dir: string): number[] {
  const out = new Set<number>();
  for (const d of dirsLeafFirst(dir)) {
    for (const pid of parsePids(tryReadText(`${d}/cgroup.procs`) ?? "")) out.add(pid);
  }
  return [...out].sort((a, b) => a - b);
}

/** Sends SIGKILL to each PID; one that is already gone (ESRCH) is fine. */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    const r = sysRaw("kill", [pid, SIGKILL]);
    if (r < 0 && r !== -Errno.ESRCH) throw new SyscallError("kill", -r, `${pid} SIGKILL`);
  }
}

/**
 * Removes `dir` and its descendants, deepest first. EBUSY (tasks still
 * exiting) is retried until `timeoutMs` passes; a missing directory is fine.
 * Every failure is reported, after trying all directories.
 */
export async function removeTree(dir: string, timeoutMs: number): Promise<void> {
  const errors = new ErrorList();
  for (const d of dirsLeafFirst(dir)) {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1;; delay = Math.min(delay * 2, 50)) {
      let r = 0;
      errors.try(`remove ${JSON.stringify(d)}`, () => {
        r = rmdirOne(d);
      });
      if (r !== -Errno.EBUSY) break;
      if (Date.now() > deadline) {
        errors.errors.push(
          new TsboxError(`remove ${JSON.stringify(d)}`, {
            cause: new SyscallError("rmdir", Errno.EBUSY, JSON.stringify(d)),
          }),
        );
        break;
      }
      await sleep(delay);
    }
  }
  errors.throwIfAny(`remove cgroup ${JSON.stringify(dir)}`);
}
