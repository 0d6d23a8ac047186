// The operations of tsbox-runc on a container that exists: exec a process in
// it, pause and resume it, change its resources, list its processes, read its
// cgroup figures. Like engine.ts, a stand-in for the engine's API (issue 10
// part 1), calling src/runtime/exec.ts and the cgroup driver directly.

import { sysRaw } from "../../../ffi/syscall.ts";
import type { CgroupStats } from "../../cgroups/driver.ts";
import { TsboxError, UsageError } from "../../errors.ts";
import { execProcess } from "../../runtime/exec.ts";
import type { Started } from "../../runtime/executor.ts";
import { pidfdOpen } from "../../runtime/process.ts";
import { seccompFilter } from "../../seccomp/bpf.ts";
import type { Process, Resources } from "../../spec/types.ts";
import { cgroups, statusOf } from "./engine.ts";
import { connectUnix } from "./engine_create.ts";
import type { GlobalOptions } from "./log.ts";
import type { OciRecord } from "./store.ts";

const q = JSON.stringify;

/** What `exec` runs. */
export interface ExecOptions {
  process: Process;
  consoleSocket?: string;
  preserveFds: number;
}

/**
 * Starts `o.process` in the container's namespaces, cgroup and seccomp
 * filter; returns once it has called execve. Its stdio are ours. Requires root.
 */
export function execIn(g: GlobalOptions, rec: OciRecord, o: ExecOptions): Started {
  const status = statusOf(g, rec);
  if (status === "stopped" || status === "creating") {
    throw new UsageError("cannot exec in a stopped container");
  }
  if (status === "paused") throw new UsageError("cannot exec in a paused container");
  const driver = cgroups();
  const fds: number[] = [];
  const pidfd = pidfdOpen(rec.pid);
  fds.push(pidfd);
  try {
    const exists = driver.exists(rec.cgroupPath);
    const cgroupFd = exists ? driver.cgroupDirFd(rec.cgroupPath) : undefined;
    if (cgroupFd !== undefined) fds.push(cgroupFd);
    const tasks = exists ? driver.selfJoinFiles(rec.cgroupPath) : [];
    const consoleSocket = o.consoleSocket ? connectUnix(o.consoleSocket) : undefined;
    if (consoleSocket !== undefined) fds.push(consoleSocket);
    const filter = seccompFilter(rec.config.linux?.seccomp);
    return execProcess({
      pid: rec.pid,
      pidfd,
      namespaces: (rec.config.linux?.namespaces ?? []).map((n) => n.type),
      process: o.process,
      ...(cgroupFd !== undefined ? { cgroupFd } : {}),
      cgroupTasks: tasks,
      ...(filter ? { seccomp: filter } : {}),
      stdio: { stdin: "inherit", stdout: "inherit", stderr: "inherit" },
      ...(consoleSocket !== undefined ? { consoleSocket } : {}),
      preserveFds: o.preserveFds,
    });
  } finally {
    for (const fd of fds) sysRaw("close", [fd]);
  }
}

/** Freezes every process of the container. */
export async function pause(g: GlobalOptions, rec: OciRecord): Promise<void> {
  const status = statusOf(g, rec);
  if (status !== "running" && status !== "created") {
    throw new UsageError(`container not running or created: ${status}`);
  }
  await cgroups().freeze(rec.cgroupPath);
}

/** Thaws a paused container. */
export async function resume(g: GlobalOptions, rec: OciRecord): Promise<void> {
  if (statusOf(g, rec) !== "paused") throw new UsageError("container not paused");
  await cgroups().thaw(rec.cgroupPath);
}

/** Host pids of the container's processes. */
export function pids(g: GlobalOptions, rec: OciRecord): number[] {
  const driver = cgroups();
  if (!driver.exists(rec.cgroupPath)) {
    if (statusOf(g, rec) === "stopped") return [];
    throw new TsboxError(`cgroup ${q(rec.cgroupPath)} is missing`);
  }
  return driver.pids(rec.cgroupPath);
}

/** Applies new limits to a running container. */
export function update(_g: GlobalOptions, rec: OciRecord, resources: Resources): void {
  cgroups().apply(rec.cgroupPath, resources);
}

/** The container's cgroup figures. */
export function stats(_g: GlobalOptions, rec: OciRecord): CgroupStats {
  return cgroups().stats(rec.cgroupPath);
}
