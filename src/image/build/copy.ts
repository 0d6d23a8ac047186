// Writing what a COPY or ADD read (sources.ts) into an image's tree, with
// Docker's rules for the destination: a directory when it ends with "/", when
// there are several sources, when a source is a directory (its contents go
// in) or when it is one already; otherwise the path of the one file. Missing
// parents are made (0755, owned as --chown says, else by root). Everything is
// done through file descriptors of the tree: the destination is resolved
// with openat2(2) RESOLVE_IN_ROOT (a symlink in the image, say /bin ->
// usr/bin, is followed as the container would see it, never out of the
// tree), and each entry is made by one *at(2) call on a single name that
// never follows a symlink (mkdirat, openat O_CREAT|O_EXCL|O_NOFOLLOW,
// symlinkat, linkat, mknodat); data moves with copy_file_range(2); then
// fchownat, fchmodat, utimensat(2) (times kept, nanoseconds included).

import { AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, O, S_IFDIR } from "../../../ffi/constants.ts";
import { Errno } from "../../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { fileType, mkdirInRoot, type Owner } from "../../mount/securejoin.ts";
import type { SourceEntry, SourceGroup } from "./sources.ts";
import { fileKind, lstatAt } from "./stat.ts";

/** How entries are owned and moded. */
export interface CopyOptions {
  /** --chown: the owner of everything written (and of parents made). */
  chown?: Owner;
  /** --chmod: the mode of everything written. */
  chmod?: number;
}

/** A file given by its content (a heredoc source). */
export interface InlineFile {
  name: string;
  data: Uint8Array;
}

const q = JSON.stringify;
const enc = new TextEncoder();

function timespecs(sec: bigint, nsec: bigint): Uint8Array {
  return new Uint8Array(new BigInt64Array([sec, nsec, sec, nsec]).buffer);
}

function nowTimes(): Uint8Array {
  const ms = BigInt(Date.now());
  return timespecs(ms / 1000n, (ms % 1000n) * 1_000_000n);
}

/** Whether `path` is a directory in the tree (symlinks followed inside it). */
export function isDirInRoot(rootFd: number, path: string): boolean {
  const how = new BigUint64Array([BigInt(O.PATH | O.CLOEXEC), 0n, 0x10n | 0x02n]);
  const fd = sysRaw("openat2", [
    rootFd,
    path.replace(/^\/+/, "") || ".",
    new Uint8Array(how.buffer),
    24,
  ]);
  if (fd < 0) return false;
  try {
    return fileType(fd) === S_IFDIR;
  } finally {
    sys("close", [fd]);
  }
}

/** Removes whatever is at dirFd/name unless it is a directory and `keepDir`; returns whether a dir is left. */
function clear(dirFd: number, name: string, keepDir: boolean): boolean {
  const st = lstatAt(dirFd, name);
  if (!st) return false;
  if (fileKind(st.mode) === "dir") {
    if (keepDir) return true;
    const r = sysRaw("unlinkat", [dirFd, name, AT_REMOVEDIR]);
    if (r === -Errno.ENOTEMPTY) {
      throw new TsboxError(`cannot replace directory ${q(name)} with a file: it is not empty`);
    }
    if (r < 0) throw new SyscallError("unlinkat", -r, q(name));
    return false;
  }
  sys("unlinkat", [dirFd, name, 0], q(name));
  return false;
}

/** Writes entries into a tree; keeps the fds of the directories it made or entered. */
class Writer {
  readonly dirs = new Map<string, number>();
  readonly links = new Map<string, { dir: number; name: string }>();
  readonly dirTimes: { dir: number; name: string; times: Uint8Array }[] = [];

  constructor(readonly root: number, readonly opts: CopyOptions) {}

  close(): void {
    for (const fd of this.dirs.values()) sysRaw("close", [fd]);
    this.dirs.clear();
  }

  /** The fd of directory `path` (absolute in the tree), made when missing. */
  dir(path: string): number {
    let fd = this.dirs.get(path);
    if (fd === undefined) {
      fd = mkdirInRoot(this.root, path, this.opts.chown);
      this.dirs.set(path, fd);
    }
    return fd;
  }

  owner(e: { uid: number; gid: number }): Owner {
    return this.opts.chown ?? { uid: e.uid, gid: e.gid };
  }

  /** Sets owner, mode and times of dirFd/name. */
  meta(dirFd: number, name: string, e: SourceEntry | undefined, perm: number, times: Uint8Array) {
    const o = e ? this.owner(e) : this.opts.chown ?? { uid: 0, gid: 0 };
    sys("fchownat", [dirFd, name, o.uid, o.gid, AT_SYMLINK_NOFOLLOW], q(name));
    if (e?.kind !== "symlink") {
      sys("fchmodat", [dirFd, name, this.opts.chmod ?? perm], q(name));
    }
    sys("utimensat", [dirFd, name, times, AT_SYMLINK_NOFOLLOW], q(name));
  }

  /** Writes one entry as dirFd/name; `destPath` is its absolute path (for directories). */
  entry(dirFd: number, name: string, e: SourceEntry, destPath: string): void {
    const times = timespecs(e.mtime.sec, e.mtime.nsec);
    if (e.kind === "dir") {
      const kept = clear(dirFd, name, true);
      if (!kept) sys("mkdirat", [dirFd, name, 0o700], q(destPath));
      const fd = sys(
        "openat",
        [dirFd, name, O.PATH | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC],
        q(destPath),
      );
      this.dirs.set(destPath, fd);
      const o = this.owner(e);
      sys("fchownat", [dirFd, name, o.uid, o.gid, AT_SYMLINK_NOFOLLOW], q(destPath));
      sys("fchmodat", [dirFd, name, this.opts.chmod ?? e.perm], q(destPath));
      this.dirTimes.push({ dir: dirFd, name, times });
      return;
    }
    clear(dirFd, name, false);
    if (e.inode) {
      const first = this.links.get(e.inode);
      if (first) {
        sys("linkat", [first.dir, first.name, dirFd, name, 0], q(destPath));
        return;
      }
      this.links.set(e.inode, { dir: dirFd, name });
    }
    switch (e.kind) {
      case "file": {
        const src = sys("open", [e.path, O.RDONLY | O.NOFOLLOW | O.CLOEXEC], q(e.path));
        try {
          const dst = sys(
            "openat",
            [dirFd, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, 0o600],
            q(destPath),
          );
          try {
            copyData(src, dst, e.size, e.path);
          } finally {
            sys("close", [dst]);
          }
        } finally {
          sys("close", [src]);
        }
        break;
      }
      case "symlink":
        sys("symlinkat", [e.link!, dirFd, name], q(destPath));
        break;
      case "char":
      case "block":
      case "fifo": {
        const type = e.kind === "char" ? 0o020000 : e.kind === "block" ? 0o060000 : 0o010000;
        sys("mknodat", [dirFd, name, type | 0o600, e.rdev ?? 0n], q(destPath));
        break;
      }
      default:
        return; // sockets are not copied
    }
    this.meta(dirFd, name, e, e.perm, times);
  }

  /** Writes an inline (heredoc) file. */
  inline(dirFd: number, name: string, data: Uint8Array, destPath: string): void {
    clear(dirFd, name, false);
    const fd = sys(
      "openat",
      [dirFd, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, 0o600],
      q(destPath),
    );
    try {
      for (let off = 0; off < data.length;) {
        off += sys("write", [fd, data.subarray(off), data.length - off], q(destPath));
      }
    } finally {
      sys("close", [fd]);
    }
    this.meta(dirFd, name, undefined, 0o644, nowTimes());
  }

  finish(): void {
    for (const d of this.dirTimes.reverse()) {
      sys("utimensat", [d.dir, d.name, d.times, AT_SYMLINK_NOFOLLOW], q(d.name));
    }
  }
}

/** Copies `len` bytes from fd `src` to fd `dst` in the kernel (copy_file_range, then read/write). */
function copyData(src: number, dst: number, len: number, what: string): void {
  let left = len;
  while (left > 0) {
    const n = sysRaw("copy_file_range", [src, null, dst, null, Math.min(left, 1 << 30), 0]);
    if (n === 0) break; // the file shrank meanwhile
    if (n === -Errno.EXDEV || n === -Errno.EINVAL || n === -Errno.EOPNOTSUPP) {
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        const r = sys("read", [src, buf, buf.length], q(what));
        if (r <= 0) return;
        for (let off = 0; off < r;) {
          off += sys("write", [dst, buf.subarray(off, r), r - off], q(what));
        }
      }
    }
    if (n < 0) throw new SyscallError("copy_file_range", -n, q(what));
    left -= n;
  }
}

function split(path: string): { dir: string; name: string } {
  const p = path.replace(/\/+$/, "");
  const i = p.lastIndexOf("/");
  return { dir: i <= 0 ? "/" : p.slice(0, i), name: p.slice(i + 1) };
}

/**
 * Writes the groups and inline files of one COPY/ADD to `dest` (absolute;
 * ending with "/" when it must be a directory) in the tree `rootFd`.
 */
export function writeGroups(
  rootFd: number,
  dest: string,
  groups: readonly SourceGroup[],
  inline: readonly InlineFile[],
  opts: CopyOptions,
): void {
  const asDir = dest.endsWith("/") || groups.length + inline.length > 1 ||
    groups.some((g) => g.dir) || isDirInRoot(rootFd, dest);
  const w = new Writer(rootFd, opts);
  try {
    if (!asDir) {
      const { dir, name } = split(dest);
      const parent = w.dir(dir);
      if (groups[0]) w.entry(parent, name, groups[0].entries[0]!, dest);
      else if (inline[0]) w.inline(parent, name, inline[0].data, dest);
    } else {
      const target = dest.replace(/\/+$/, "") || "/";
      const dirFd = w.dir(target);
      for (const g of groups) {
        if (!g.dir) {
          w.entry(dirFd, g.name, g.entries[0]!, `${target}/${g.name}`);
          continue;
        }
        // The directory itself is not copied: a destination the COPY makes is 0755,
        // owned by --chown or root (as Buildah); one that exists keeps its metadata.
        const rest = g.entries.slice(1);
        for (const e of rest) {
          const { dir, name } = split(e.rel);
          const parentPath = dir === "/" ? target : `${target}/${dir}`.replace(/^\/\//, "/");
          w.entry(w.dir(parentPath), name, e, `${target}/${e.rel}`.replace(/^\/\//, "/"));
        }
      }
      for (const f of inline) w.inline(dirFd, f.name, f.data, `${target}/${f.name}`);
    }
    w.finish();
  } finally {
    w.close();
  }
}

/** A heredoc source's bytes. */
export function inlineFile(name: string, data: string): InlineFile {
  return { name, data: enc.encode(data) };
}
