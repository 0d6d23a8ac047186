// The executor: runs a spec. It builds the root filesystem in a staging mount
// namespace, clones the container's first process into its namespaces with
// the syscall program compiled from the spec, lets the caller place it
// (cgroup, network) while it waits, then releases it and reports whether
// execve succeeded.
//
// Parent <-> child protocol (pipes are close-on-exec, so execve closes them):
//
//   parent                                   child (ffi interpreter)
//   clone3 ───────────────────────────────▶  read(sync)          ... blocks
//   uid_map/gid_map, cgroup, network
//   write(sync, 1 byte) ──────────────────▶  setup steps ...
//                       ◀──────────────────  [console] sendmsg(pty master)
//                       ◀──────────────────  failure: {op index, -errno} on err pipe, exit
//   read(err) == EOF  ◀─── execve closes the err pipe ─── execve
//
// Trace records (one per op) come on a third pipe when --trace is on.
//
// What the child holds: every fd of this process at clone (close-on-exec or
// not) until its first close-fds step, which keeps only its stdio, the error
// and trace pipes, the console socket (and what OCI asks for: the exec fifo,
// preserved fds); the pipes and socket go too before its chdir
// (init_plan.ts). It is not dumpable, and lets go of this executable right
// after the sync (self_exe.ts).

import { AF_UNIX, O, SOCK_CLOEXEC, SOCK_STREAM } from "../../ffi/constants.ts";
import { errnoName } from "../../ffi/errno.ts";
import {
  decodeRecords,
  encodeProgram,
  ERROR_RECORD_SIZE,
  type Record,
  TRACE_RECORD_SIZE,
} from "../../ffi/program.ts";
import { spawn } from "../../ffi/spawn.ts";
import { sys, SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { ExitCode, TsboxError } from "../errors.ts";
import { faultPoint } from "../faults.ts";
import { prepareRootfs, type RootfsSource } from "../mount/rootfs.ts";
import { Staging } from "../mount/staging.ts";
import type { Spec } from "../spec/types.ts";
import { lastCap } from "./capabilities.ts";
import { receiveFd } from "./console.ts";
import { initSteps, POINT } from "./init_plan.ts";
import { lower, NOTIFY_INDEX, type OpLabel } from "./lower.ts";
import { resolveExecutable } from "./executable.ts";
import { cloneFlag, cloneFlags, type NamespaceKind, NAMESPACES } from "./namespaces.ts";
import { killAndReap } from "./process.ts";
import { formatStep, type Step } from "./steps.ts";
import { NO_TRACE, type Tracer } from "./trace.ts";
import { hostId, userNamespaceFd, writeIdMaps } from "./userns.ts";
import { exeImage, sealedExePlaceholder } from "./self_exe.ts";
import { checkWorkdir } from "./workdir.ts";

/** What to start. */
export interface StartRequest {
  spec: Spec;
  /** Directory the root filesystem is mounted on in the staging namespace. */
  mountPoint: string;
  rootfs: RootfsSource;
  /** Scratch directory for id-mapped layer mounts (--userns remap). */
  scratchDir: string;
  /** The container's stdio; ignored with a terminal (the pty is its stdio). */
  stdio: Stdio;
  trace?: Tracer;
  /** A cgroup v2 directory fd to start the child in (clone3 CLONE_INTO_CGROUP). */
  cgroupFd?: number;
  /** cgroup v1 `tasks` files the child writes "0" to, joining those groups itself. */
  cgroupTasks?: string[];
  /** Mount cgroup2 at /sys/fs/cgroup (v2 host with a cgroup namespace). */
  mountCgroup2?: boolean;
  /** Otherwise, the host directories a `cgroup` mount binds (init_plan.ts InitContext.cgroupBinds). */
  cgroupBinds?: { name: string; source: string }[];
  /** Runs while the child waits: place it in a cgroup (if not done by clone3), configure its network. */
  setup?: (child: { pid: number; pidfd: number; inCgroup: boolean }) => Promise<void> | void;
  /** OCI --console-socket: the child sends its pty master there (connected unix socket), not to us. */
  consoleSocket?: number;
  /**
   * OCI create: an O_PATH fd of the exec fifo. The child does every step,
   * then waits on the fifo for `start`; startContainer returns at that point.
   */
  execFifoFd?: number;
  /** OCI --preserve-fds: fds 3 .. 3+N-1 stay open in the container. */
  preserveFds?: number;
  /** With execFifoFd: the child waits on the fifo a second time, for the startContainer hooks. */
  startHooks?: boolean;
  /** Look the executable up in the root before the clone, so a missing one fails the start here. */
  resolveExecutable?: boolean;
  /** Runs when the child has made its mounts, before pivot_root (OCI createContainer hooks). */
  beforePivot?: (child: { pid: number; pidfd: number }) => Promise<void> | void;
}

/**
 * Where the container's fds 0, 1 and 2 come from: our own ("inherit"),
 * /dev/null, or an fd of ours (the caller keeps ownership of it).
 */
export interface Stdio {
  stdin: "inherit" | "null" | number;
  stdout: "inherit" | number;
  stderr: "inherit" | number;
}

/** A container process that has passed execve. */
export interface Started {
  pid: number;
  pidfd: number;
  /** The pty master, with a terminal. */
  console?: number;
}

const q = JSON.stringify;

function pipe(): [number, number] {
  const p = new Int32Array(2);
  sys("pipe2", [p, O.CLOEXEC]);
  return [p[0]!, p[1]!];
}

function closeAll(fds: (number | undefined)[]): void {
  for (const fd of fds) if (fd !== undefined && fd >= 0) sysRaw("close", [fd]);
}

function readAll(fd: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = sys("read", [fd, buf, buf.length]);
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) (out.set(c, o), o += c.length);
  return out;
}

/** Moves this thread's pid_for_children into the namespace `fd`; returns an fd of the old one. */
function enterPidNamespace(fd: number): number {
  const own = sys("open", ["/proc/thread-self/ns/pid_for_children", O.RDONLY | O.CLOEXEC]);
  try {
    sys("setns", [fd, cloneFlag("pid")], "pid namespace");
  } catch (e) {
    sysRaw("close", [own]);
    throw e;
  }
  return own;
}

/** The next record on the error pipe; undefined at EOF (execve closed it, or the child died). */
function readRecord(fd: number): Record | undefined {
  const buf = new Uint8Array(ERROR_RECORD_SIZE);
  let got = 0;
  while (got < buf.length) {
    const n = sys("read", [fd, buf.subarray(got), buf.length - got]);
    if (n <= 0) return undefined;
    got += n;
  }
  return decodeRecords(buf, ERROR_RECORD_SIZE)[0];
}

function maskedKind(path: string): "dir" | "file" | undefined {
  try {
    return Deno.statSync(path).isDirectory ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/** The error for a failed op of the child, with the exit code Docker would give. */
export function childError(
  steps: readonly Step[],
  labels: readonly OpLabel[],
  index: number,
  result: number,
): TsboxError {
  const label = labels[index];
  if (!label) return new TsboxError(`container init failed at op ${index} with ${result}`);
  const step = steps[label.step]!;
  const errno = result < 0 ? -result : 0;
  if (step.op === "exec") {
    const name = step.argv[0] ?? "";
    const searched = step.candidates.length > 1 || !name.includes("/");
    if (errnoName(errno) === "ENOENT" || errnoName(errno) === "ENOTDIR") {
      return new TsboxError(
        searched
          ? `exec ${q(name)}: executable file not found in $PATH`
          : `exec ${q(name)}: no such file or directory`,
        { exitCode: ExitCode.NOT_FOUND },
      );
    }
    return new TsboxError(`exec ${q(name)}`, {
      cause: new SyscallError("execve", errno, q(step.candidates.at(-1))),
      exitCode: ExitCode.CANNOT_EXECUTE,
    });
  }
  if (label.message) {
    return new TsboxError(`container init: ${label.message}`, {
      ...(errno ? { cause: new SyscallError(label.syscall, errno, label.detail) } : {}),
    });
  }
  if (errno === 0) {
    return new TsboxError(
      `container init: ${formatStep(step)}: ${label.syscall} returned ${result}`,
    );
  }
  return new TsboxError("container init", {
    cause: new SyscallError(label.syscall, errno, label.detail),
  });
}

/**
 * Starts the container described by `req.spec` and returns once its first
 * process has called execve. Requires root.
 */
export async function startContainer(req: StartRequest): Promise<Started> {
  const trace = req.trace ?? NO_TRACE;
  const spec = req.spec;
  const proc = spec.process!;
  checkWorkdir(proc.cwd || "/");
  const nsList = spec.linux?.namespaces ?? [];
  const created = new Set<NamespaceKind["oci"]>(nsList.filter((n) => !n.path).map((n) => n.type));
  const unshareAfterSync: NamespaceKind["oci"][] = created.has("cgroup") ? ["cgroup"] : [];
  // The time namespace is made by the child itself (init_plan.ts), so its offsets can be set.
  const cloned = [...created].filter((n) => n !== "cgroup" && n !== "time");
  const userns = created.has("user");
  const uidMap = spec.linux?.uidMappings ?? [];
  const gidMap = spec.linux?.gidMappings ?? [];
  const owner = userns ? { uid: hostId(uidMap, 0) ?? 0, gid: hostId(gidMap, 0) ?? 0 } : undefined;

  const fds: (number | undefined)[] = [];
  const join: { namespace: NamespaceKind["oci"]; fd: number; path: string }[] = [];
  let idmapFd: number | undefined;
  let child: { pid: number; pidfd: number; inCgroup: boolean } | undefined;
  try {
    // Namespaces joined by path, in the one order of namespaces.ts. A PID
    // namespace is entered by this thread around the clone (setns changes
    // only the namespace of later children); the others by the child.
    let pidNs: number | undefined;
    for (const kind of NAMESPACES) {
      const n = nsList.find((x) => x.type === kind.oci && x.path);
      if (!n) continue;
      if (n.type === "user" || n.type === "mount") {
        throw new TsboxError(
          `joining a ${n.type} namespace by path is not supported (${q(n.path)})`,
        );
      }
      const fd = sys("open", [n.path!, O.RDONLY | O.CLOEXEC], `${n.type} namespace ${q(n.path)}`);
      fds.push(fd);
      if (n.type === "pid") pidNs = fd;
      else join.push({ namespace: n.type, fd, path: n.path! });
    }
    const [syncR, syncW] = pipe();
    const [errR, errW] = pipe();
    fds.push(syncR, syncW, errR, errW);
    const [traceR, traceW] = trace.enabled ? pipe() : [-1, -1];
    fds.push(traceR, traceW);
    let consoleSock: [number, number] | undefined;
    let slotFd: number | undefined;
    const dups: { from: number; to: number }[] = [];
    let nullFd: number | undefined;
    if (proc.terminal && req.consoleSocket !== undefined) {
      slotFd = sys("open", ["/dev/null", O.RDONLY | O.CLOEXEC]);
      fds.push(slotFd);
    } else if (proc.terminal) {
      const sp = new Int32Array(2);
      sys("socketpair", [AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp]);
      consoleSock = [sp[0]!, sp[1]!];
      slotFd = sys("open", ["/dev/null", O.RDONLY | O.CLOEXEC]);
      fds.push(...consoleSock, slotFd);
    } else {
      const { stdin, stdout, stderr } = req.stdio;
      if (stdin === "null") {
        nullFd = sys("open", ["/dev/null", O.RDONLY | O.CLOEXEC]);
        fds.push(nullFd);
        dups.push({ from: nullFd, to: 0 });
      } else if (stdin !== "inherit") dups.push({ from: stdin, to: 0 });
      if (stdout !== "inherit") dups.push({ from: stdout, to: 1 });
      if (stderr !== "inherit") dups.push({ from: stderr, to: 2 });
    }
    if (userns && (req.rootfs.kind === "overlay" || req.rootfs.kind === "dir")) {
      idmapFd = trace.run(
        "create a user namespace for id-mapped layers",
        () => userNamespaceFd(uidMap, gidMap),
      );
    }
    // Id-mapped bind mounts: "idmap"/"ridmap", or a mount's own mappings (OCI 1.1).
    const mountIdmaps = new Map<number, number>();
    for (const [i, m] of (spec.mounts ?? []).entries()) {
      const wants = m.uidMappings?.length ||
        (m.options ?? []).some((o) => o === "idmap" || o === "ridmap");
      if (!wants) continue;
      const uids = m.uidMappings ?? uidMap, gids = m.gidMappings ?? gidMap;
      if (!uids.length || !gids.length) {
        throw new TsboxError(`id-mapped mount ${q(m.destination)} needs uid and gid mappings`);
      }
      const fd = userNamespaceFd(uids, gids);
      fds.push(fd);
      mountIdmaps.set(i, fd);
    }
    const envPath = (proc.env ?? []).find((e) => e.startsWith("PATH="))?.slice(5);
    const exeFd = sealedExePlaceholder();
    fds.push(exeFd);
    const steps = initSteps(spec, {
      syncFd: syncR,
      syncWriteFd: syncW,
      rootfs: req.mountPoint,
      created,
      unshareAfterSync,
      join,
      ...(proc.terminal
        ? {
          console: {
            socketFd: consoleSock?.[1] ?? req.consoleSocket!,
            slotFd: slotFd!,
            rows: proc.consoleSize?.height ?? 24,
            cols: proc.consoleSize?.width ?? 80,
          },
        }
        : {}),
      stdio: dups,
      mountCgroup2: req.mountCgroup2 ?? false,
      ...(req.cgroupBinds?.length ? { cgroupBinds: req.cgroupBinds } : {}),
      cgroupTasks: req.cgroupTasks ?? [],
      lastCap: lastCap(),
      maskedKind,
      searchPath: (envPath ?? "").split(":").filter(Boolean),
      notifyFd: errW,
      ...(req.preserveFds ? { preserveFds: req.preserveFds } : {}),
      ...(req.beforePivot ? { pauseBeforePivot: true } : {}),
      ...(req.execFifoFd !== undefined ? { execFifoFd: req.execFifoFd } : {}),
      ...(req.startHooks ? { startHooks: true } : {}),
      ...(created.has("time") ? { timeOffsets: spec.linux?.timeOffsets ?? {} } : {}),
      keepFds: [errW, ...(traceW >= 0 ? [traceW] : [])],
      exe: { ...exeImage(), fd: exeFd },
    });

    let labels: OpLabel[] = [];
    let program: Uint8Array;
    const staging = Staging.enter(trace);
    try {
      prepareRootfs({
        mountPoint: req.mountPoint,
        source: req.rootfs,
        mounts: spec.mounts ?? [],
        devices: spec.linux?.devices ?? [],
        readonly: spec.root?.readonly ?? false,
        ensureDirs: [proc.cwd || "/"],
        ...(mountIdmaps.size ? { mountIdmaps } : {}),
        ...(owner ? { owner } : {}),
        ...(idmapFd !== undefined
          ? { idmap: { usernsFd: idmapFd, scratchDir: req.scratchDir } }
          : {}),
      }, trace);
      if (req.resolveExecutable) {
        const path = resolveExecutable(req.mountPoint, proc);
        const exec = steps.at(-1);
        if (exec?.op === "exec") exec.candidates = [path];
      }
      faultPoint("after-mounts");
      const { builder, labels: opLabels } = lower(steps);
      labels = opLabels;
      program = encodeProgram(builder.ops, errW, traceW);
      trace.mark("clone");
      const ownPid = pidNs === undefined ? undefined : enterPidNamespace(pidNs);
      try {
        child = trace.run(`clone3 into new ${cloned.join(",") || "no"} namespaces`, () =>
          spawn({
            program,
            flags: cloneFlags(cloned),
            ...(req.cgroupFd !== undefined ? { cgroupFd: req.cgroupFd } : {}),
          }));
      } finally {
        if (ownPid !== undefined) {
          sys("setns", [ownPid, cloneFlag("pid")], "our own pid namespace");
          sysRaw("close", [ownPid]);
        }
      }
    } finally {
      staging.leave();
    }
    closeAll([
      exeFd,
      syncR,
      errW,
      traceW,
      consoleSock?.[1],
      slotFd,
      nullFd,
      ...join.map((j) => j.fd),
      pidNs,
      ...mountIdmaps.values(),
      idmapFd,
    ]);
    fds.length = 0;
    fds.push(syncW, errR, traceR, consoleSock?.[0]);
    idmapFd = undefined;

    if (userns) {
      trace.run(
        `write uid_map and gid_map of ${child.pid}`,
        () => writeIdMaps(child!.pid, uidMap, gidMap),
      );
    }
    if (req.setup) await req.setup(child);
    trace.run(
      "release the child (sync pipe)",
      () => sys("write", [syncW, new Uint8Array([1]), 1], "sync pipe"),
    );
    const released = trace.enabled ? (trace.sync(), trace.marks.get("clone")) : undefined;
    let consoleFd: number | undefined;
    if (consoleSock) consoleFd = receiveFd(consoleSock[0]);
    let failure: Record | undefined;
    let ready = false;
    for (let rec = readRecord(errR); rec; rec = readRecord(errR)) {
      if (rec.index !== NOTIFY_INDEX) {
        failure = rec;
        break;
      }
      if (rec.result === POINT.BEFORE_PIVOT) {
        await req.beforePivot?.(child);
        sys("write", [syncW, new Uint8Array([1]), 1], "sync pipe");
      } else if (rec.result === POINT.READY) {
        ready = true;
        break;
      }
    }
    trace.mark("execve");
    if (trace.enabled && !ready) {
      printChildTrace(trace, steps, labels, readAll(traceR), failure === undefined, released);
    }
    if (failure) {
      closeAll([consoleFd]);
      throw childError(steps, labels, failure.index, failure.result);
    }
    const started: Started = {
      pid: child.pid,
      pidfd: child.pidfd,
      ...(consoleFd !== undefined ? { console: consoleFd } : {}),
    };
    child = undefined;
    return started;
  } finally {
    closeAll([...fds, idmapFd]);
    if (child) {
      killAndReap(child.pidfd);
      sysRaw("close", [child.pidfd]);
    }
  }
}

function printChildTrace(
  trace: Tracer,
  steps: readonly Step[],
  labels: readonly OpLabel[],
  bytes: Uint8Array,
  execOk: boolean,
  _since: bigint | undefined,
): void {
  const recs = decodeRecords(bytes, TRACE_RECORD_SIZE);
  let i = 0;
  while (i < recs.length) {
    const step = labels[recs[i]!.index]?.step ?? -1;
    let j = i;
    while (j + 1 < recs.length && labels[recs[j + 1]!.index]?.step === step) j++;
    const last = recs[j]!;
    const n = j - i + 1;
    const res = last.result < 0 && last.result >= -4095
      ? errnoName(-last.result)
      : String(last.result);
    trace.line(
      "child",
      `${steps[step] ? formatStep(steps[step]!) : "?"}${n > 1 ? ` [${n} syscalls]` : ""}`,
      last.timeNs,
      res,
      [...new Set(recs.slice(i, j + 1).map((r) => labels[r.index]?.syscall ?? "?"))],
    );
    i = j + 1;
  }
  if (execOk) {
    const exec = steps.at(-1);
    trace.line(
      "child",
      exec ? formatStep(exec) : "execve",
      trace.marks.get("execve"),
      "0 (err pipe closed)",
    );
    const c = trace.marks.get("clone"), e = trace.marks.get("execve");
    if (c !== undefined && e !== undefined) {
      trace.line("parent", `clone-to-execve ${(Number(e - c) / 1e6).toFixed(3)} ms`);
    }
  }
}
