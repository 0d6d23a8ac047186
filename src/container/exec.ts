// `tsbox exec`: run a command in a running container, with its namespaces,
// cgroups, capabilities, root filesystem and (unless overridden) its user,
// environment and working directory. The exit code is the command's.

import { SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { Errno } from "../../ffi/errno.ts";
import { TsboxError } from "../errors.ts";
import { readFileInRoot } from "../mount/securejoin.ts";
import { relayConsole, windowSize } from "../runtime/console.ts";
import { execProcess } from "../runtime/exec.ts";
import type { Started, Stdio } from "../runtime/executor.ts";
import { seccompFilter } from "../seccomp/bpf.ts";
import { type NamespaceKind, NAMESPACES } from "../runtime/namespaces.ts";
import { signalPidfd, waitPidfd } from "../runtime/process.ts";
import { mergeEnv } from "../spec/env.ts";
import { resolveUser } from "../spec/user.ts";
import type { Process } from "../spec/types.ts";
import { findContainer } from "../state/containers.ts";
import { SIGNALS } from "../../ffi/constants.ts";
import { containerCgroup, joinPlan } from "./cgroup.ts";
import { openContainerPidfd } from "./signal.ts";
import { checkTransition } from "./state_machine.ts";
import { processAlive, reconcile } from "./status.ts";

/** Options of `exec`. */
export interface ExecOptions {
  command: string[];
  interactive: boolean;
  tty: boolean;
  env: string[];
  user?: string | undefined;
  workdir?: string | undefined;
  detach: boolean;
}

/** Whether `e` or one of its causes is a SyscallError with `errno`. */
function causedBy(e: unknown, errno: number): boolean {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    if (c instanceof SyscallError && c.errno === errno) return true;
  }
  return false;
}

/** The namespaces of `pid` that differ from ours: the ones to join. */
function namespacesOf(pid: number): NamespaceKind["oci"][] {
  const out: NamespaceKind["oci"][] = [];
  for (const ns of NAMESPACES) {
    try {
      if (
        Deno.readLinkSync(`/proc/${pid}/ns/${ns.proc}`) !==
          Deno.readLinkSync(`/proc/self/ns/${ns.proc}`)
      ) out.push(ns.oci);
    } catch { /* this kernel lacks it */ }
  }
  return out;
}

function readInContainer(pid: number, path: string): string {
  return readFileInRoot(`/proc/${pid}/root`, path) ?? "";
}

/**
 * Starts `opts.command` in container `ref` with `stdio` (a terminal when
 * opts.tty: its master comes back in `console`, sized `size`); the caller
 * waits for it and closes the returned pidfd. Used by `exec` and `tsbox ui`.
 */
export function spawnExec(
  ref: string,
  opts: ExecOptions,
  stdio: Stdio,
  size?: [number, number],
): Started {
  const rec = reconcile(findContainer(ref));
  checkTransition("exec", rec);
  const pidfd = openContainerPidfd(rec);
  if (pidfd === undefined) {
    throw new TsboxError(`container ${rec.name} is not running`, { exitCode: 1 });
  }
  try {
    const base = rec.spec.process!;
    let user = base.user;
    if (opts.user !== undefined) {
      const u = resolveUser(
        opts.user,
        readInContainer(rec.pid!, "/etc/passwd"),
        readInContainer(rec.pid!, "/etc/group"),
      );
      user = {
        uid: u.uid,
        gid: u.gid,
        ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}),
      };
    }
    const ws = opts.tty ? size : undefined;
    const proc: Process = {
      ...base,
      terminal: opts.tty,
      args: opts.command,
      env: mergeEnv(base.env ?? [], opts.tty ? ["TERM=xterm"] : [], opts.env),
      cwd: opts.workdir ?? base.cwd,
      user,
      ...(ws ? { consoleSize: { height: ws[0], width: ws[1] } } : {}),
    };
    const filter = seccompFilter(rec.spec.linux?.seccomp);
    // The same driver calls as the container's first process (src/container/cgroup.ts).
    const path = containerCgroup(rec);
    let join: ReturnType<typeof joinPlan> | undefined;
    let started;
    try {
      join = path ? joinPlan(path) : undefined;
      started = execProcess({
        pid: rec.pid!,
        pidfd,
        namespaces: namespacesOf(rec.pid!),
        process: proc,
        ...(join?.dirFd !== undefined ? { cgroupFd: join.dirFd } : {}),
        cgroupTasks: join?.selfJoin ?? [],
        ...(join ? { placeInCgroup: join.place } : {}),
        ...(filter ? { seccomp: filter } : {}),
        stdio,
      });
    } catch (e) {
      // The container stopped while we joined it: say that, not the errno it caused.
      // (ESRCH: its init is exiting, though /proc may still show it. EPIPE on
      // the sync pipe: our child, already in its cgroup, was killed with it.)
      if (!processAlive(rec) || causedBy(e, Errno.ESRCH) || causedBy(e, Errno.EPIPE)) {
        throw new TsboxError(`container ${rec.name} is not running`, { exitCode: 1 });
      }
      throw e;
    } finally {
      join?.close();
    }
    return started;
  } finally {
    sysRaw("close", [pidfd]);
  }
}

/** Runs `opts.command` in container `ref`; returns its exit code (or 0 with --detach). */
export async function execInContainer(ref: string, opts: ExecOptions): Promise<number> {
  const started = spawnExec(ref, opts, {
    stdin: opts.interactive && !opts.detach ? "inherit" : "null",
    stdout: "inherit",
    stderr: "inherit",
  }, opts.tty ? windowSize(1) ?? windowSize(0) : undefined);
  if (opts.detach) {
    sysRaw("close", [started.pidfd]);
    return 0;
  }
  const forward =
    (["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as Deno.Signal[]).map(
      (name) => {
        const fn = () => signalPidfd(started.pidfd, SIGNALS[name]!);
        Deno.addSignalListener(name, fn);
        return () => Deno.removeSignalListener(name, fn);
      },
    );
  const relay = started.console !== undefined ? relayConsole(started.console) : undefined;
  const status = await waitPidfd(started.pidfd);
  if (relay) {
    await relay.done;
    relay.restore();
  }
  forward.forEach((off) => off());
  sysRaw("close", [started.pidfd]);
  return status.code;
}
