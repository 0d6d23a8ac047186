// Process creation: clone3(2) (or clone(2) where clone3 is missing or filtered)
// through tsbox_spawn, whose child runs a syscall program and nothing else.
// See clone(2) for the flags and struct clone_args.
//
// Every child is made while this process is not dumpable (PR_SET_DUMPABLE 0
// around the clone, then restored): the child inherits that until its execve,
// so from its first instruction no other process without CAP_SYS_PTRACE over
// the host's user namespace may ptrace it or open its /proc/PID/exe, fd/,
// cwd, root or mem, even once it is inside a container's PID namespace (as
// runc's nsexec does against CVE-2019-5736). See prctl(2), ptrace(2)
// "Ptrace access mode checking".

import { PR, SIGCHLD } from "./constants.ts";
import { machineCode } from "./libc.ts";
import { addr } from "./mem.ts";
import { SyscallError } from "./syscall.ts";
import { SYS } from "./x86_64/syscalls.ts";
import { Errno } from "./errno.ts";

const CLONE_PIDFD = 0x1000n;
const CLONE_INTO_CGROUP = 0x200000000n;
/** sizeof(struct clone_args) up to and including `cgroup` (CLONE_ARGS_SIZE_VER2). */
const CLONE_ARGS_SIZE = 88;
/** Namespace flags only clone3 accepts (CLONE_NEWTIME collides with CSIGNAL in clone). */
const CLONE3_ONLY = 0x80n;

let clone3Works: boolean | undefined;

/** What to spawn. */
export interface SpawnRequest {
  /** Encoded program (ffi/program.ts); must stay referenced until spawn returns. */
  program: Uint8Array;
  /** Namespace CLONE_* flags. */
  flags: bigint;
  /** A cgroup v2 directory fd: the child starts in that cgroup (clone3 only). */
  cgroupFd?: number;
}

/** A started child. */
export interface Spawned {
  pid: number;
  /** A pidfd for the child (close-on-exec). */
  pidfd: number;
  /** Whether the child was started in `cgroupFd` (false: the caller must move it). */
  inCgroup: boolean;
}

/**
 * Starts a child that runs `req.program` (its first op is usually a read on a
 * sync pipe, so the caller can prepare it before it goes on).
 * Requires root for namespace flags.
 */
export function spawn(req: SpawnRequest): Spawned {
  const m = machineCode();
  const dumpable = Number(m.syscall(SYS.prctl, PR.GET_DUMPABLE, 0, 0, 0, 0));
  if (dumpable !== 0) setDumpable(0);
  try {
    return clone(m, req);
  } finally {
    // 2 (suid_dumpable "root") cannot be set back through prctl: the process stays at 0.
    if (dumpable === 1) setDumpable(1);
  }
}

function setDumpable(v: number): void {
  const r = Number(machineCode().syscall(SYS.prctl, PR.SET_DUMPABLE, v, 0, 0, 0));
  if (r < 0) throw new SyscallError("prctl", -r, `PR_SET_DUMPABLE ${v}`);
}

function clone(m: ReturnType<typeof machineCode>, req: SpawnRequest): Spawned {
  const prog = addr(req.program);
  const pidfdBuf = new Int32Array(1).fill(-1);
  const launch = new BigUint64Array(10);
  launch[7] = prog;
  launch[8] = 0xffffffffffffffffn;
  const wantCgroup = req.cgroupFd !== undefined;
  if (clone3Works !== false) {
    const args = new BigUint64Array(CLONE_ARGS_SIZE / 8);
    args[0] = req.flags | CLONE_PIDFD | (wantCgroup ? CLONE_INTO_CGROUP : 0n);
    args[1] = addr(pidfdBuf);
    args[4] = BigInt(SIGCHLD);
    if (wantCgroup) args[10] = BigInt(req.cgroupFd!);
    launch[0] = BigInt(SYS.clone3);
    launch[1] = addr(args);
    launch[2] = BigInt(CLONE_ARGS_SIZE);
    const r = Number(m.spawn(addr(launch)));
    if (r > 0) {
      clone3Works = true;
      return { pid: r, pidfd: pidfdBuf[0]!, inCgroup: wantCgroup };
    }
    // ENOSYS: kernel before 5.3, or a seccomp filter (Docker's) that hides clone3.
    if (r !== -Errno.ENOSYS) throw new SyscallError("clone3", -r, describeFlags(req.flags));
    clone3Works = false;
  }
  if (req.flags & CLONE3_ONLY) {
    throw new SyscallError("clone3", Errno.ENOSYS, "needed for a time namespace");
  }
  // long clone(unsigned long flags, void *stack, int *parent_tid, int *child_tid, unsigned long tls);
  launch[0] = BigInt(SYS.clone);
  launch[1] = req.flags | CLONE_PIDFD | BigInt(SIGCHLD);
  launch[2] = 0n;
  launch[3] = addr(pidfdBuf);
  const r = Number(m.spawn(addr(launch)));
  if (r < 0) throw new SyscallError("clone", -r, describeFlags(req.flags));
  return { pid: r, pidfd: pidfdBuf[0]!, inCgroup: false };
}

function describeFlags(flags: bigint): string {
  return `(flags 0x${flags.toString(16)})`;
}
