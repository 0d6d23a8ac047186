// The OCI runtime's operations on a container that exists: exec a process in
// it, pause and resume it, change its resources, list its processes, read its
// cgroup figures. Each asks the state machine first (lifecycle.ts checkOci).
// exec starts its process through the same runtime call as `tsbox exec`
// (src/runtime/exec.ts) and joins the cgroup through the same joinPlan.

import { sysRaw } from "../../../ffi/syscall.ts";
import type { CgroupStats } from "../../cgroups/driver.ts";
import { TsboxError, UsageError } from "../../errors.ts";
import { execProcess } from "../../runtime/exec.ts";
import { pidfdOpen } from "../../runtime/process.ts";
import { seccompFilter } from "../../seccomp/bpf.ts";
import type { Process, Resources } from "../../spec/types.ts";
import { joinPlan } from "../cgroup_join.ts";
import { connectUnix } from "./create.ts";
import { cgroups, checkOci, load, statusOf } from "./lifecycle.ts";
import { type OciContext, withLock } from "./store.ts";

const q = JSON.stringify;

/** What `exec` runs. */
export interface ExecRequest {
  /** The process, given the container's own (config.json's) process. */
  process: (base: Process) => Process;
  consoleSocket?: string;
  preserveFds: number;
  /** Write the process's host pid there. */
  pidFile?: string;
  /** Return once it has called execve, without waiting. */
  detach: boolean;
}

/**
 * Runs a process in container `id`'s namespaces, cgroup and seccomp filter,
 * its stdio ours; returns 0 once it has called execve (detach) or its exit
 * status. Requires root.
 */
export async function execInContainer(
  ctx: OciContext,
  id: string,
  req: ExecRequest,
): Promise<number> {
  const rec = load(ctx, id);
  // loadBundle refuses a config.json without a process: every record has one.
  const process = req.process(rec.config.process!);
  if (req.consoleSocket && !process.terminal) {
    throw new UsageError("--console-socket given but the process has no terminal");
  }
  checkOci(ctx, "exec", rec);
  const driver = cgroups();
  const fds: number[] = [];
  const pidfd = pidfdOpen(rec.pid);
  fds.push(pidfd);
  const join = driver.exists(rec.cgroupPath) ? joinPlan(rec.cgroupPath) : undefined;
  let started;
  try {
    const consoleSocket = req.consoleSocket ? connectUnix(req.consoleSocket) : undefined;
    if (consoleSocket !== undefined) fds.push(consoleSocket);
    const filter = seccompFilter(rec.config.linux?.seccomp);
    started = execProcess({
      pid: rec.pid,
      pidfd,
      namespaces: (rec.config.linux?.namespaces ?? []).map((n) => n.type),
      process,
      ...(join?.dirFd !== undefined ? { cgroupFd: join.dirFd } : {}),
      cgroupTasks: join?.selfJoin ?? [],
      ...(filter ? { seccomp: filter } : {}),
      stdio: { stdin: "inherit", stdout: "inherit", stderr: "inherit" },
      ...(consoleSocket !== undefined ? { consoleSocket } : {}),
      preserveFds: req.preserveFds,
    });
  } finally {
    join?.close();
    for (const fd of fds) sysRaw("close", [fd]);
  }
  if (req.pidFile) Deno.writeTextFileSync(req.pidFile, String(started.pid));
  if (req.detach) {
    if (started.console !== undefined) sysRaw("close", [started.console]);
    sysRaw("close", [started.pidfd]);
    return 0;
  }
  const { relayConsole } = await import("../../runtime/console.ts");
  const { waitPidfd } = await import("../../runtime/process.ts");
  const relay = started.console !== undefined ? relayConsole(started.console) : undefined;
  try {
    const status = await waitPidfd(started.pidfd);
    if (relay) {
      await relay.done;
      relay.restore();
    }
    return status.code;
  } finally {
    sysRaw("close", [started.pidfd]);
  }
}

/** Freezes every process of container `id`. */
export async function pauseContainer(ctx: OciContext, id: string): Promise<void> {
  await withLock(ctx.root, id, async () => {
    const rec = load(ctx, id);
    checkOci(ctx, "pause", rec);
    await cgroups().freeze(rec.cgroupPath);
  });
}

/** Thaws paused container `id`. */
export async function resumeContainer(ctx: OciContext, id: string): Promise<void> {
  await withLock(ctx.root, id, async () => {
    const rec = load(ctx, id);
    checkOci(ctx, "resume", rec);
    await cgroups().thaw(rec.cgroupPath);
  });
}

/** Host pids of container `id`'s processes. */
export function containerPids(ctx: OciContext, id: string): number[] {
  const rec = load(ctx, id);
  const driver = cgroups();
  if (!driver.exists(rec.cgroupPath)) {
    if (statusOf(ctx, rec) === "stopped") return [];
    throw new TsboxError(`cgroup ${q(rec.cgroupPath)} is missing`);
  }
  return driver.pids(rec.cgroupPath);
}

/** Container `id`'s processes with their command lines (/proc/PID/cmdline; "" once gone). */
export function containerProcesses(ctx: OciContext, id: string): { pid: number; cmd: string }[] {
  return containerPids(ctx, id).map((pid) => {
    let cmd = "";
    try {
      cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
    } catch { /* gone */ }
    return { pid, cmd };
  });
}

/** Applies new limits to container `id`. */
export async function updateContainer(
  ctx: OciContext,
  id: string,
  resources: Resources,
): Promise<void> {
  await withLock(ctx.root, id, () => {
    const rec = load(ctx, id);
    checkOci(ctx, "update", rec);
    cgroups().apply(rec.cgroupPath, resources);
    return Promise.resolve();
  });
}

/** Container `id`'s cgroup figures; undefined once it has stopped. */
export function containerStats(ctx: OciContext, id: string): CgroupStats | undefined {
  const rec = load(ctx, id);
  if (statusOf(ctx, rec) === "stopped") return undefined;
  return cgroups().stats(rec.cgroupPath);
}
