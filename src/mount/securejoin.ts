// Paths inside a container's root filesystem, resolved by the kernel with
// openat2(2) RESOLVE_IN_ROOT so that a symlink in the image (say /etc ->
// /host-etc, or ../../..) can never lead a mount or a write outside the root
// (CVE-2021-30465, CVE-2019-19921). Callers mount onto "/proc/self/fd/N".

import { AT_SYMLINK_NOFOLLOW, O, RESOLVE, S_IFDIR, S_IFMT, S_IFREG } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../ffi/syscall.ts";

const OPEN_HOW_SIZE = 24;

/** openat2(dirfd, path, flags, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); returns -errno on failure. */
function openInRootRaw(rootFd: number, path: string, flags: number, mode = 0): number {
  const how = new BigUint64Array([
    BigInt(flags | O.CLOEXEC),
    BigInt(mode),
    BigInt(RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS),
  ]);
  return sysRaw("openat2", [
    rootFd,
    path.replace(/^\/+/, "") || ".",
    new Uint8Array(how.buffer),
    OPEN_HOW_SIZE,
  ]);
}

/** Opens `path` inside the root `rootFd` (fails with SyscallError). */
export function openInRoot(rootFd: number, path: string, flags: number, mode = 0): number {
  const r = openInRootRaw(rootFd, path, flags, mode);
  if (r < 0) throw new SyscallError("openat2", -r, `${JSON.stringify(path)} in the container root`);
  return r;
}

/** The file type bits of an fd (fstat). */
export function fileType(fd: number): number {
  const st = new Uint8Array(144);
  sys("fstat", [fd, st]);
  return new DataView(st.buffer).getUint32(24, true) & S_IFMT;
}

/** Ownership applied to directories and files created inside the root. */
export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Returns an O_PATH fd of directory `path` inside the root, creating missing
 * components (mode 0755, owned by `owner`). Throws ENOTDIR if a component
 * exists and is not a directory.
 */
export function mkdirInRoot(rootFd: number, path: string, owner?: Owner): number {
  const parts = path.split("/").filter((p) => p && p !== ".");
  if (parts.includes("..")) {
    throw new SyscallError("openat2", Errno.EINVAL, `${JSON.stringify(path)}: ".." in path`);
  }
  let fd = openInRootRaw(rootFd, parts.join("/"), O.PATH | O.DIRECTORY);
  if (fd >= 0) return fd;
  if (fd !== -Errno.ENOENT) {
    throw new SyscallError("openat2", -fd, `${JSON.stringify(path)} in the container root`);
  }
  // Find the deepest existing directory, then create the rest below it.
  let i = parts.length - 1;
  let parent = -1;
  while (i > 0) {
    parent = openInRootRaw(rootFd, parts.slice(0, i).join("/"), O.PATH | O.DIRECTORY);
    if (parent >= 0) break;
    if (parent !== -Errno.ENOENT) {
      throw new SyscallError(
        "openat2",
        -parent,
        `${JSON.stringify("/" + parts.slice(0, i).join("/"))} in the container root`,
      );
    }
    i--;
  }
  if (i === 0) parent = sys("fcntl", [rootFd, 1030, /* F_DUPFD_CLOEXEC */ 0]);
  try {
    for (; i < parts.length; i++) {
      const name = parts[i]!;
      const r = sysRaw("mkdirat", [parent, name, 0o755]);
      if (r < 0 && r !== -Errno.EEXIST) throw new SyscallError("mkdirat", -r, JSON.stringify(name));
      if (r === 0) {
        // Whatever the umask (the supervisor's is 077): this is the container's tree.
        sys("fchmodat", [parent, name, 0o755, 0]);
        if (owner) sys("fchownat", [parent, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW]);
      }
      fd = openInRootRaw(rootFd, parts.slice(0, i + 1).join("/"), O.PATH | O.DIRECTORY);
      if (fd < 0) {
        throw new SyscallError(
          "openat2",
          -fd,
          `${JSON.stringify("/" + parts.slice(0, i + 1).join("/"))} in the container root`,
        );
      }
      sys("close", [parent]);
      parent = fd;
    }
  } catch (e) {
    sys("close", [parent]);
    throw e;
  }
  return parent;
}

/**
 * Returns an O_PATH fd of file `path` inside the root, creating it (empty,
 * mode 0644) and its parents when missing; for a file bind-mount target.
 */
export function touchInRoot(rootFd: number, path: string, owner?: Owner): number {
  const fd = openInRootRaw(rootFd, path, O.PATH);
  if (fd >= 0) {
    if (fileType(fd) === S_IFDIR) {
      sys("close", [fd]);
      throw new SyscallError(
        "openat2",
        Errno.EISDIR,
        `${JSON.stringify(path)} in the container root`,
      );
    }
    return fd;
  }
  if (fd !== -Errno.ENOENT) {
    throw new SyscallError("openat2", -fd, `${JSON.stringify(path)} in the container root`);
  }
  const slash = path.lastIndexOf("/");
  const dir = mkdirInRoot(rootFd, path.slice(0, slash) || "/", owner);
  const name = path.slice(slash + 1);
  try {
    // A dangling symlink at the leaf (e.g. resolv.conf -> /run/...) is replaced by a file.
    const r = sysRaw("openat", [
      dir,
      name,
      O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC,
      0o644,
    ]);
    if (r === -Errno.EEXIST) {
      sys("unlinkat", [dir, name, 0]);
      sys("close", [
        sys("openat", [dir, name, O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0o644]),
      ]);
    } else if (r < 0) {
      throw new SyscallError("openat", -r, JSON.stringify(path));
    } else {
      sys("close", [r]);
    }
    sys("fchmodat", [dir, name, 0o644, 0]); // whatever the umask
    if (owner) sys("fchownat", [dir, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW]);
  } finally {
    sys("close", [dir]);
  }
  return openInRoot(rootFd, path, O.PATH);
}

/**
 * The text of the regular file `path` inside the root directory `root`
 * (resolved in it: an image's /etc/passwd -> ../../../etc/shadow stays in
 * the image; `root` may be /proc/PID/root), or undefined when it is missing
 * or not a regular file.
 *
 * @example readFileInRoot(image.rootfs, "/etc/passwd")
 */
export function readFileInRoot(root: string, path: string): string | undefined {
  const rootFd = sysRaw("open", [root, O.PATH | O.DIRECTORY | O.CLOEXEC]);
  if (rootFd < 0) return undefined;
  // O_PATH first: a FIFO or a device node is never opened.
  const fd = openInRootRaw(rootFd, path, O.PATH);
  sys("close", [rootFd]);
  if (fd < 0) return undefined;
  try {
    if (fileType(fd) !== S_IFREG) return undefined;
    return Deno.readTextFileSync(fdPath(fd));
  } catch {
    return undefined;
  } finally {
    sys("close", [fd]);
  }
}

/** "/proc/self/fd/N": a path that names exactly the file behind fd N. */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}
