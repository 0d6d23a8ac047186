// lstat(2) with every field a copy needs, nanoseconds included (Deno's
// FileInfo rounds times to milliseconds): newfstatat(2) with
// AT_SYMLINK_NOFOLLOW into struct stat (x86_64 layout, see stat(2)), and
// readlink(2) of a path or of /proc/self/fd/N.

import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, S_IFMT } from "../../../ffi/constants.ts";
import { Errno } from "../../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../../ffi/syscall.ts";

/** What lstat says about a path. */
export interface Stat {
  dev: bigint;
  ino: bigint;
  nlink: number;
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  rdev: bigint;
  size: number;
  mtimeSec: bigint;
  mtimeNsec: bigint;
}

/** The file type of a st_mode. */
export function fileKind(
  mode: number,
): "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket" {
  switch (mode & S_IFMT) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "dir";
    case 0o120000:
      return "symlink";
    case 0o020000:
      return "char";
    case 0o060000:
      return "block";
    case 0o010000:
      return "fifo";
    default:
      return "socket";
  }
}

function decode(buf: Uint8Array): Stat {
  const v = new DataView(buf.buffer);
  return {
    dev: v.getBigUint64(0, true),
    ino: v.getBigUint64(8, true),
    nlink: Number(v.getBigUint64(16, true)),
    mode: v.getUint32(24, true),
    uid: v.getUint32(28, true),
    gid: v.getUint32(32, true),
    rdev: v.getBigUint64(40, true),
    size: Number(v.getBigInt64(48, true)),
    mtimeSec: v.getBigInt64(88, true),
    mtimeNsec: v.getBigInt64(96, true),
  };
}

/** lstat of `name` relative to `dirFd` (or a path); undefined when it does not exist. */
export function lstatAt(dirFd: number, name: string): Stat | undefined {
  const buf = new Uint8Array(144);
  const r = sysRaw("newfstatat", [dirFd, name, buf, AT_SYMLINK_NOFOLLOW]);
  if (r === -Errno.ENOENT || r === -Errno.ENOTDIR) return undefined;
  if (r < 0) throw new SyscallError("newfstatat", -r, JSON.stringify(name));
  return decode(buf);
}

/** lstat of a path; undefined when it does not exist. */
export function lstat(path: string): Stat | undefined {
  return lstatAt(AT_FDCWD, path);
}

/** fstat of an fd (an O_PATH fd too). */
export function fstat(fd: number): Stat {
  const buf = new Uint8Array(144);
  sys("newfstatat", [fd, "", buf, 0x1000 /* AT_EMPTY_PATH */], `fd ${fd}`);
  return decode(buf);
}

/** The target of a symlink (`readlinkat`), relative to `dirFd`. */
export function readlinkAt(dirFd: number, name: string): string {
  const buf = new Uint8Array(4096);
  const n = sys("readlinkat", [dirFd, name, buf, buf.length], JSON.stringify(name));
  return new TextDecoder().decode(buf.subarray(0, n));
}
