// Lowers Steps (steps.ts) to the interpreter's syscall ops (ffi/program.ts).
// Each op remembers which step it came from and what it acted on, so a
// failure reported as (op index, errno) becomes a message such as
// `mount "proc" on "/proc" (MS_NOSUID|MS_NODEV|MS_NOEXEC): EPERM (...)`.

import {
  AF_INET,
  AT_FDCWD,
  AT_RECURSIVE,
  CLOSE_RANGE_CLOEXEC,
  IFF_UP,
  LINUX_CAPABILITY_VERSION_3,
  MNT_DETACH,
  mountFlagNames,
  O,
  OPEN_HOW_SIZE_VER0,
  PR,
  PRCTL_MM_MAP_SIZE,
  RESOLVE,
  SCM_RIGHTS,
  SIGKILL,
  SIGRTMAX,
  SIOCSIFFLAGS,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOL_SOCKET,
  TIOCGPTPEER,
  TIOCSCTTY,
  TIOCSPTLCK,
  TIOCSWINSZ,
} from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { type OpOptions, type ProgArg, ProgramBuilder, type Reg } from "../../ffi/program.ts";
import type { SyscallName } from "../../ffi/x86_64/syscalls.ts";
import { cloneFlag } from "./namespaces.ts";
import type { Step } from "./steps.ts";

/** Where an op came from. */
export interface OpLabel {
  /** Index of the step in the step list. */
  step: number;
  syscall: SyscallName;
  /** What the op acted on, for messages. */
  detail: string;
  /** The whole message when this op fails (a check rather than an action). */
  message?: string;
}

/** A program ready to encode, with a label per op. */
export interface Lowered {
  builder: ProgramBuilder;
  labels: OpLabel[];
}

/** Marker in a notify record's index field (a real op index is never this large). */
export const NOTIFY_INDEX = 0xffffffff;

const q = JSON.stringify;
const SIGSTOP = 19;
const SECCOMP_SET_MODE_FILTER = 1;

/** Lowers `steps` into one program. */
export function lower(steps: readonly Step[]): Lowered {
  const b = new ProgramBuilder();
  const labels: OpLabel[] = [];
  // One register for fds used right away (sysctl files, cgroup tasks files, the ioctl socket).
  let scratch: Reg | undefined;
  const tmp = () => (scratch ??= b.reg());
  const sc = (
    stepIdx: number,
    name: SyscallName,
    detail: string,
    args: ProgArg[],
    opts: OpOptions & { message?: string } = {},
  ) => {
    b.syscall(name, args, opts);
    labels.push({
      step: stepIdx,
      syscall: name,
      detail,
      ...(opts.message ? { message: opts.message } : {}),
    });
  };
  steps.forEach((s, i) => {
    const call = (
      name: SyscallName,
      detail: string,
      args: ProgArg[],
      opts: OpOptions & { message?: string } = {},
    ) => sc(i, name, detail, args, opts);
    switch (s.op) {
      case "wait-parent":
        call("close", `sync pipe write end ${s.writeEnd}`, [s.writeEnd]);
        call("read", `sync pipe fd ${s.fd}`, [s.fd, new Uint8Array(8), 1], { expect: 1 });
        break;
      case "notify": {
        const rec = new Uint8Array(16);
        const dv = new DataView(rec.buffer);
        dv.setUint32(0, NOTIFY_INDEX, true);
        dv.setBigInt64(8, BigInt(s.point), true);
        call("write", `notify ${s.name}`, [s.fd, rec, 16], { expect: 16 });
        break;
      }
      case "wait":
        call("read", `sync pipe fd ${s.fd} (${s.name})`, [s.fd, new Uint8Array(8), 1], {
          expect: 1,
        });
        break;
      case "wait-start": {
        const fifo = tmp();
        const path = `/proc/self/fd/${s.fifoFd}`;
        call("open", `the exec fifo ${q(path)}`, [path, O.WRONLY | O.CLOEXEC], { dst: fifo });
        call("write", "one byte to the exec fifo", [fifo, new Uint8Array([0]), 1], { expect: 1 });
        call("close", "the exec fifo", [fifo]);
        break;
      }
      case "wait-start-hooks": {
        const fifo = tmp();
        const path = `/proc/self/fd/${s.fifoFd}`;
        call("open", `the exec fifo ${q(path)}`, [path, O.RDONLY | O.CLOEXEC], { dst: fifo });
        call("read", "one byte from the exec fifo", [fifo, new Uint8Array(8), 1], { expect: 1 });
        call("close", "the exec fifo", [fifo]);
        break;
      }
      case "setns-path": {
        const fd = tmp();
        call("open", q(s.path), [s.path, O.RDONLY | O.CLOEXEC], { dst: fd });
        call("setns", `${s.namespace} ${q(s.path)}`, [fd, cloneFlag(s.namespace)]);
        call("close", q(s.path), [fd]);
        break;
      }
      case "personality":
        call("personality", `0x${s.persona.toString(16)}`, [s.persona]);
        break;
      case "unshare": {
        const flags = s.namespaces.reduce((f, n) => f | cloneFlag(n), 0);
        call("unshare", s.namespaces.join(","), [flags]);
        break;
      }
      case "setns":
        call("setns", `${s.namespace} ${q(s.path)}`, [s.fd, cloneFlag(s.namespace)]);
        break;
      case "join": {
        const flags = s.namespaces.reduce((f, n) => f | cloneFlag(n), 0);
        call("setns", `pidfd of pid ${s.pid} (${s.namespaces.join(",")})`, [s.pidfd, flags]);
        break;
      }
      case "sethostname":
        call("sethostname", q(s.name), [s.name, new TextEncoder().encode(s.name).length]);
        break;
      case "setdomainname":
        call("setdomainname", q(s.name), [s.name, new TextEncoder().encode(s.name).length]);
        break;
      case "mount":
        call(
          "mount",
          `${q(s.source ?? "none")} on ${q(s.target)} (${mountFlagNames(s.flags)}${
            s.data ? `, ${s.data}` : ""
          })`,
          [s.source, s.target, s.fstype, s.flags, s.data],
          s.optional ? { okErrno: Errno.ENOENT } : {},
        );
        break;
      case "setattr": {
        const attr = new BigUint64Array([BigInt(s.set), BigInt(s.clear), 0n, 0n]);
        call(
          "mount_setattr",
          q(s.path),
          [AT_FDCWD, s.path, s.recursive ? AT_RECURSIVE : 0, new Uint8Array(attr.buffer), 32],
          s.optional ? { okErrno: Errno.ENOENT } : {},
        );
        break;
      }
      case "mkdir":
        call("mkdir", q(s.path), [s.path, s.mode], { okErrno: Errno.EEXIST });
        break;
      case "symlink":
        call("symlink", `${q(s.path)} -> ${q(s.target)}`, [s.target, s.path], {
          okErrno: Errno.EEXIST,
        });
        break;
      case "write-file": {
        const fd = tmp();
        const bytes = new TextEncoder().encode(s.data);
        call("open", q(s.path), [s.path, O.WRONLY | O.CLOEXEC], { dst: fd });
        call("write", `${q(s.data)} to ${q(s.path)}`, [fd, bytes, bytes.length], {
          expect: bytes.length,
        });
        call("close", q(s.path), [fd]);
        break;
      }
      case "pivot-root":
        call("chdir", q(s.root), [s.root]);
        call("pivot_root", `${q(s.root)} (new root and old root ".")`, [".", "."]);
        call("umount2", "the old root", [".", MNT_DETACH]);
        call("chdir", `"/"`, ["/"]);
        break;
      case "chdir": {
        const dir = tmp();
        const how = new BigUint64Array([
          BigInt(O.PATH | O.DIRECTORY | O.CLOEXEC),
          0n,
          BigInt(RESOLVE.NO_MAGICLINKS),
        ]);
        call("openat2", `${q(s.path)} (working directory, no magic links)`, [
          AT_FDCWD,
          s.path,
          new Uint8Array(how.buffer),
          OPEN_HOW_SIZE_VER0,
        ], { dst: dir });
        call("fchdir", q(s.path), [dir]);
        call("close", q(s.path), [dir]);
        // getcwd(2) answers "(unreachable)/..." for a directory that is not
        // below the root. Opened with dirfd -1, an absolute answer resolves
        // from the root and a relative one fails with EBADF.
        const cwd = b.arena.alloc(4096).addr;
        call("getcwd", "the working directory", [cwd, 4096]);
        call("openat", "the working directory's absolute path", [
          -1,
          cwd,
          O.PATH | O.DIRECTORY | O.CLOEXEC,
        ], {
          dst: dir,
          message: `working directory ${q(s.path)} is outside the container's root`,
        });
        call("close", "the working directory's absolute path", [dir]);
        break;
      }
      case "close-fds": {
        const keep = [...new Set(s.keep.filter((fd) => fd >= 3))].sort((a, b) => a - b);
        let from = 3;
        for (const k of keep) {
          if (k > from) call("close_range", `fds ${from}..${k - 1}`, [from, k - 1, 0]);
          from = k + 1;
        }
        call("close_range", `fds ${from}..`, [from, 0xffffffff, 0]);
        break;
      }
      case "hide-exe": {
        for (const m of s.unmap) {
          call("munmap", `0x${m.start.toString(16)} (the runtime's executable)`, [
            m.start,
            m.length,
          ]);
        }
        // struct prctl_mm_map: 11 u64 addresses, u64 auxv, u32 auxv_size, u32 exe_fd.
        const map = new DataView(new ArrayBuffer(PRCTL_MM_MAP_SIZE));
        s.mm.forEach((v, j) => map.setBigUint64(8 * j, v, true));
        map.setUint32(100, s.exeFd, true);
        call("prctl", `PR_SET_MM_MAP exe_fd ${s.exeFd}`, [
          PR.SET_MM,
          PR.SET_MM_MAP,
          new Uint8Array(map.buffer),
          PRCTL_MM_MAP_SIZE,
          0,
        ]);
        break;
      }
      case "link-up": {
        const sock = tmp();
        const ifr = new Uint8Array(40);
        ifr.set(new TextEncoder().encode(s.name));
        new DataView(ifr.buffer).setUint16(16, IFF_UP, true);
        call("socket", "AF_INET for interface ioctls", [AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0], {
          dst: sock,
        });
        call("ioctl", `SIOCSIFFLAGS ${q(s.name)} up`, [sock, SIOCSIFFLAGS, ifr]);
        call("close", "the ioctl socket", [sock]);
        break;
      }
      case "rlimit": {
        const lim = new BigUint64Array([s.soft, s.hard]);
        call("prlimit64", `${s.name} soft=${s.soft} hard=${s.hard}`, [
          0,
          s.resource,
          new Uint8Array(lim.buffer),
          null,
        ]);
        break;
      }
      case "drop-bounding":
        for (const c of s.caps) {
          call("prctl", `PR_CAPBSET_DROP ${c}`, [PR.CAPBSET_DROP, c, 0, 0, 0]);
        }
        break;
      case "clear-ambient":
        call("prctl", "PR_CAP_AMBIENT_CLEAR_ALL", [
          PR.CAP_AMBIENT,
          PR.CAP_AMBIENT_CLEAR_ALL,
          0,
          0,
          0,
        ], {
          okErrno: Errno.EINVAL,
        });
        break;
      case "raise-ambient":
        // As runc: a capability missing from the permitted or inheritable
        // set is not raised (EPERM), the process starts without it.
        for (const c of s.caps) {
          call("prctl", `PR_CAP_AMBIENT_RAISE ${c}`, [
            PR.CAP_AMBIENT,
            PR.CAP_AMBIENT_RAISE,
            c,
            0,
            0,
          ], { okErrno: Errno.EPERM });
        }
        break;
      case "no-new-privs":
        call("prctl", "PR_SET_NO_NEW_PRIVS", [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0]);
        break;
      case "seccomp": {
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
        const fprog = new DataView(new ArrayBuffer(16));
        fprog.setUint16(0, s.filter.length / 8, true);
        fprog.setBigUint64(8, b.data(s.filter), true);
        call("seccomp", "SECCOMP_SET_MODE_FILTER", [
          SECCOMP_SET_MODE_FILTER,
          s.flags ?? 0,
          b.data(new Uint8Array(fprog.buffer)),
        ]);
        break;
      }
      case "keep-caps":
        call("prctl", `PR_SET_KEEPCAPS ${s.on ? 1 : 0}`, [PR.SET_KEEPCAPS, s.on ? 1 : 0, 0, 0, 0]);
        break;
      case "setgroups": {
        const gids = new Uint32Array(s.gids);
        call("setgroups", `[${s.gids.join(",")}]`, [s.gids.length, new Uint8Array(gids.buffer)]);
        break;
      }
      case "setresgid":
        call("setresgid", String(s.gid), [s.gid, s.gid, s.gid]);
        break;
      case "setresuid":
        call("setresuid", String(s.uid), [s.uid, s.uid, s.uid]);
        break;
      case "capset": {
        const hdr = new Uint32Array([LINUX_CAPABILITY_VERSION_3, 0]);
        const lo = (m: bigint) => Number(m & 0xffffffffn);
        const hi = (m: bigint) => Number(m >> 32n);
        const data = new Uint32Array([
          lo(s.effective),
          lo(s.permitted),
          lo(s.inheritable),
          hi(s.effective),
          hi(s.permitted),
          hi(s.inheritable),
        ]);
        call("capset", "", [new Uint8Array(hdr.buffer), new Uint8Array(data.buffer)]);
        break;
      }
      case "console": {
        const master = b.reg();
        const slave = b.reg();
        const ws = new Uint16Array([s.rows, s.cols, 0, 0]);
        call("open", `"/dev/ptmx"`, ["/dev/ptmx", O.RDWR | O.NOCTTY | O.CLOEXEC], { dst: master });
        call("ioctl", "TIOCSPTLCK (unlock the pty)", [master, TIOCSPTLCK, new Uint8Array(4)]);
        call(
          "ioctl",
          "TIOCGPTPEER (open the pty slave)",
          [master, TIOCGPTPEER, O.RDWR | O.NOCTTY],
          {
            dst: slave,
          },
        );
        call("ioctl", `TIOCSWINSZ ${s.cols}x${s.rows}`, [
          slave,
          TIOCSWINSZ,
          new Uint8Array(ws.buffer),
        ]);
        call("setsid", "", []);
        call("ioctl", "TIOCSCTTY", [slave, TIOCSCTTY, 0]);
        for (const fd of [0, 1, 2]) call("dup2", `pty slave -> ${fd}`, [slave, fd]);
        call("close", "the extra pty slave fd", [slave]);
        call("dup3", `pty master -> ${s.slotFd}`, [master, s.slotFd, O.CLOEXEC]);
        call("sendmsg", `pty master on fd ${s.socketFd}`, [s.socketFd, fdMessage(b, s.slotFd), 0], {
          expect: 1,
        });
        break;
      }
      case "setsid":
        call("setsid", "", []);
        break;
      case "dup2":
        call("dup2", `${s.from} -> ${s.to}`, [s.from, s.to]);
        break;
      case "cloexec-from":
        call("close_range", `${s.from}.. CLOSE_RANGE_CLOEXEC`, [
          s.from,
          0xffffffff,
          CLOSE_RANGE_CLOEXEC,
        ]);
        break;
      case "close-from": {
        let lo = s.from;
        for (const k of [...new Set(s.keep)].filter((k) => k >= s.from).sort((a, b) => a - b)) {
          if (k > lo) call("close_range", `${lo}..${k - 1}`, [lo, k - 1, 0]);
          lo = k + 1;
        }
        call("close_range", `${lo}..`, [lo, 0xffffffff, 0]);
        break;
      }
      case "close":
        call("close", `fd ${s.fd} (${s.name})`, [s.fd]);
        break;
      case "reset-signals": {
        const dfl = new Uint8Array(32); // struct kernel_sigaction { handler = SIG_DFL, ... }
        for (let sig = 1; sig <= SIGRTMAX; sig++) {
          if (sig === SIGKILL || sig === SIGSTOP) continue;
          call("rt_sigaction", `signal ${sig} to SIG_DFL`, [sig, dfl, null, 8], {
            okErrno: Errno.EINVAL,
          });
        }
        call("rt_sigprocmask", "SIG_SETMASK none", [2, new Uint8Array(8), null, 8]);
        break;
      }
      case "umask":
        call("umask", s.mask.toString(8), [s.mask]);
        break;
      case "exec": {
        const argv = b.arena.cstrArray(s.argv);
        const envp = b.arena.cstrArray(s.env);
        s.candidates.forEach((path, j) =>
          call("execve", q(path), [path, argv, envp], {
            continueOnError: j < s.candidates.length - 1,
          })
        );
        break;
      }
    }
  });
  return { builder: b, labels };
}

/** A msghdr carrying one fd (SCM_RIGHTS) and one data byte, in the builder's arena. */
function fdMessage(b: ProgramBuilder, fd: number): bigint {
  const payload = b.arena.alloc(1);
  payload.bytes[0] = 0x74;
  const iov = new BigUint64Array([payload.addr, 1n]);
  const iovAddr = b.data(new Uint8Array(iov.buffer));
  const cmsg = new Uint8Array(24); // CMSG_SPACE(sizeof(int))
  const cdv = new DataView(cmsg.buffer);
  cdv.setBigUint64(0, 20n, true); // CMSG_LEN(sizeof(int))
  cdv.setInt32(8, SOL_SOCKET, true);
  cdv.setInt32(12, SCM_RIGHTS, true);
  cdv.setInt32(16, fd, true);
  const cmsgAddr = b.data(cmsg);
  const msg = new BigUint64Array([0n, 0n, iovAddr, 1n, cmsgAddr, 24n, 0n]);
  return b.data(new Uint8Array(msg.buffer));
}
