// `exec`: a new process inside a running container. The child joins the
// container's namespaces through the init's pidfd (setns(2) with several
// CLONE_NEW* flags, Linux 5.8) — user first, which is why it must be a
// single-threaded child and not this process. A PID namespace is joined by
// the parent's thread before the clone (setns of a PID namespace only
// changes the namespace of later children, pid_namespaces(7)), then undone.
// It starts in the container's cgroup2 group (clone3 CLONE_INTO_CGROUP) and
// moves itself into its v1 groups, before it joins anything.
//
// The child is not dumpable from its clone on and lets go of this executable
// right after the sync (self_exe.ts), so the container's processes, which
// see it in their PID namespace, can neither open its /proc/PID/exe nor
// reach the runtime through its own execve (CVE-2019-5736). It closes every
// fd of ours but its stdio, the error pipe, the init's pidfd, the console
// socket and the preserved fds before it joins, and all but the error pipe
// and the preserved fds before its chdir (CVE-2024-21626: the cgroup
// directory fd used by clone3 was one).

import { O } from "../../ffi/constants.ts";
import { decodeRecords, encodeProgram, ERROR_RECORD_SIZE } from "../../ffi/program.ts";
import { spawn } from "../../ffi/spawn.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from "../../ffi/constants.ts";
import type { Process } from "../spec/types.ts";
import { lastCap } from "./capabilities.ts";
import { receiveFd } from "./console.ts";
import { childError, type Started, type Stdio } from "./executor.ts";
import { processSteps } from "./init_plan.ts";
import { exeImage, sealedExePlaceholder } from "./self_exe.ts";
import { checkWorkdir } from "./workdir.ts";
import { lower } from "./lower.ts";
import { cloneFlag, type NamespaceKind } from "./namespaces.ts";
import { killAndReap } from "./process.ts";
import type { Step } from "./steps.ts";

/** What to run, and where. */
export interface ExecRequest {
  /** The container's first process. */
  pid: number;
  pidfd: number;
  /** The container's own namespaces (not shared with the host), pid included. */
  namespaces: NamespaceKind["oci"][];
  process: Process;
  /** The container's cgroup2 directory (O_PATH fd): the process starts there (clone3). */
  cgroupFd?: number;
  /** Files of its cgroup v1 groups the child writes "0" to, moving itself there before joining. */
  cgroupTasks: string[];
  /** Moves the child into the container's cgroup when clone3 could not start it there. */
  placeInCgroup?: (pid: number) => void;
  /** The container's seccomp filter: an exec'd process runs under it too. */
  seccomp?: Uint8Array;
  stdio: Stdio;
  /** OCI --console-socket: the pty master goes there (a connected unix socket), not to us. */
  consoleSocket?: number;
  /** OCI --preserve-fds: fds 3 .. 3+N-1 stay open in the process. */
  preserveFds?: number;
}

function pipe(): [number, number] {
  const p = new Int32Array(2);
  sys("pipe2", [p, O.CLOEXEC]);
  return [p[0]!, p[1]!];
}

/** Starts the process; returns once it has called execve. Requires root. */
export function execProcess(req: ExecRequest): Started {
  const proc = req.process;
  checkWorkdir(proc.cwd || "/");
  const owned = new Set<number>();
  const own = (...fds: number[]) => fds.forEach((fd) => owned.add(fd));
  const closeNow = (fd: number) => {
    if (owned.delete(fd)) sysRaw("close", [fd]);
  };
  let child: { pid: number; pidfd: number; inCgroup: boolean } | undefined;
  try {
    const [syncR, syncW] = pipe();
    const [errR, errW] = pipe();
    own(syncR, syncW, errR, errW);
    const dups: { from: number; to: number }[] = [];
    if (!proc.terminal) {
      if (req.stdio.stdin === "null") {
        const n = sys("open", ["/dev/null", O.RDONLY | O.CLOEXEC]);
        own(n);
        dups.push({ from: n, to: 0 });
      } else if (req.stdio.stdin !== "inherit") dups.push({ from: req.stdio.stdin, to: 0 });
      if (req.stdio.stdout !== "inherit") dups.push({ from: req.stdio.stdout, to: 1 });
      if (req.stdio.stderr !== "inherit") dups.push({ from: req.stdio.stderr, to: 2 });
    }
    let sock: [number, number] | undefined;
    let slot: number | undefined;
    if (proc.terminal && req.consoleSocket !== undefined) {
      slot = sys("open", ["/dev/null", O.RDONLY | O.CLOEXEC]);
      own(slot);
    } else if (proc.terminal) {
      const sp = new Int32Array(2);
      sys("socketpair", [AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp]);
      sock = [sp[0]!, sp[1]!];
      slot = sys("open", ["/dev/null", O.RDONLY | O.CLOEXEC]);
      own(sock[0], sock[1], slot);
    }
    const envPath = (proc.env ?? []).find((e) => e.startsWith("PATH="))?.slice(5) ?? "";
    const join = req.namespaces.filter((n) => n !== "pid");
    const exeFd = sealedExePlaceholder();
    own(exeFd);
    const consoleFds = proc.terminal ? [sock?.[1] ?? req.consoleSocket!, slot!] : [];
    const preserved = Array.from({ length: req.preserveFds ?? 0 }, (_, i) => 3 + i);
    const steps: Step[] = [
      { op: "wait-parent", fd: syncR, writeEnd: syncW },
      { op: "hide-exe", exeFd, ...exeImage() },
      ...dups.map((d) => ({ op: "dup2" as const, ...d })),
      { op: "close-fds", keep: [errW, req.pidfd, ...consoleFds, ...preserved] },
      ...req.cgroupTasks.map((path) => ({ op: "write-file" as const, path, data: "0" })),
      ...(join.length
        ? [{ op: "join" as const, pidfd: req.pidfd, namespaces: join, pid: req.pid }]
        : []),
      ...processSteps(proc, {
        ...(proc.terminal
          ? {
            console: {
              socketFd: sock?.[1] ?? req.consoleSocket!,
              slotFd: slot!,
              rows: proc.consoleSize?.height ?? 24,
              cols: proc.consoleSize?.width ?? 80,
            },
          }
          : {}),
        stdio: [],
        keepFds: [errW],
        lastCap: lastCap(),
        searchPath: envPath.split(":").filter(Boolean),
        ...(req.seccomp ? { seccomp: req.seccomp } : {}),
        ...(req.preserveFds ? { preserveFds: req.preserveFds } : {}),
      }),
    ];
    const { builder, labels } = lower(steps);
    const program = encodeProgram(builder.ops, errW, -1);
    let ownPid: number | undefined;
    if (req.namespaces.includes("pid")) {
      ownPid = sys("open", ["/proc/thread-self/ns/pid_for_children", O.RDONLY | O.CLOEXEC]);
      own(ownPid);
      const theirs = sys("open", [`/proc/${req.pid}/ns/pid`, O.RDONLY | O.CLOEXEC]);
      try {
        sys("setns", [theirs, cloneFlag("pid")], `pid namespace of ${req.pid}`);
      } finally {
        sysRaw("close", [theirs]);
      }
    }
    try {
      child = spawn({
        program,
        flags: 0n,
        ...(req.cgroupFd !== undefined ? { cgroupFd: req.cgroupFd } : {}),
      });
    } finally {
      if (ownPid !== undefined) sys("setns", [ownPid, cloneFlag("pid")], "our own pid namespace");
    }
    closeNow(exeFd);
    closeNow(syncR);
    closeNow(errW);
    if (sock) closeNow(sock[1]);
    if (req.cgroupFd !== undefined && !child.inCgroup) req.placeInCgroup?.(child.pid);
    sys("write", [syncW, new Uint8Array([1]), 1], "sync pipe");
    const consoleFd = sock ? receiveFd(sock[0]) : undefined;
    const buf = new Uint8Array(ERROR_RECORD_SIZE);
    const n = sys("read", [errR, buf, buf.length]);
    if (n > 0) {
      const rec = decodeRecords(buf.subarray(0, n), ERROR_RECORD_SIZE)[0]!;
      if (consoleFd !== undefined) sysRaw("close", [consoleFd]);
      throw childError(steps, labels, rec.index, rec.result);
    }
    const started: Started = {
      pid: child.pid,
      pidfd: child.pidfd,
      ...(consoleFd !== undefined ? { console: consoleFd } : {}),
    };
    child = undefined;
    return started;
  } finally {
    for (const fd of [...owned]) closeNow(fd);
    if (child) {
      killAndReap(child.pidfd);
      sysRaw("close", [child.pidfd]);
    }
  }
}
