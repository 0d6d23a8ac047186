// Safe extraction of a tar archive into a directory, for `tsbox import`.
// Kernel interfaces: openat2(2) with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS to
// reach every parent directory, then the *at(2) calls on a single name
// (mkdirat, openat O_CREAT|O_EXCL|O_NOFOLLOW, symlinkat, linkat, mknodat,
// unlinkat), and fchown/fchmod/fsetxattr/utimensat(2) for metadata.
//
// Why openat2: an archive is untrusted. A path check alone is not enough once
// an earlier entry has planted a symlink (`link -> /etc`, then `link/passwd`),
// the "tar slip" family (CVE-2018-15664 and CVE-2019-14271 in `docker cp`).
// RESOLVE_IN_ROOT makes the kernel resolve every path, symlinks included, as
// if the target directory were "/", so nothing lands outside it; only the last
// component is created here, and creation never follows a symlink.

import { sys, SyscallError } from "../../ffi/syscall.ts";
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  O,
  OPEN_HOW_SIZE_VER0,
  RESOLVE,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
} from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { TsboxError } from "../errors.ts";
import { type ArchiveSource, openArchive, readTar, type TarEntry } from "./tar.ts";

/** Options of `extractTar`. */
export interface ExtractOptions {
  /** Added to every uid and gid of the archive (the container's id-mapping base). */
  idShift?: { uid: number; gid: number };
  /**
   * The archive is an image layer (OCI image-spec layer.md): `.wh.NAME`
   * becomes an overlay whiteout (a 0:0 character device NAME) and
   * `.wh..wh..opq` marks its directory opaque (trusted.overlay.opaque=y).
   */
  layer?: boolean;
}

/** The prefix of whiteout entries in a layer. */
export const WHITEOUT_PREFIX = ".wh.";
/** The name of the opaque-directory marker in a layer. */
export const OPAQUE_MARKER = ".wh..wh..opq";

/** What `extractTar` wrote. */
export interface ExtractResult {
  /** Entries extracted (directories, files, links, nodes). */
  entries: number;
  /** Bytes of file data written. */
  bytes: number;
}

/** Largest id fchown(2) takes: (uid_t)-1 means "leave unchanged". */
const MAX_ID = 0xfffffffe;

/** An error whose message already names its entry: passed on without wrapping. */
class EntryError extends TsboxError {}

/** The error for an entry tsbox will not extract. */
function refuse(entry: string, why: string): TsboxError {
  return new EntryError(`refusing tar entry ${JSON.stringify(entry)}: ${why}`);
}

/**
 * The components of an entry path, with "", "." and a leading "./" dropped.
 * Returns [] for the root itself. Throws for an absolute path or a ".." component.
 *
 * @example
 * entryParts("./usr//bin/") // ["usr", "bin"]
 */
export function entryParts(path: string): string[] {
  if (path.startsWith("/")) throw refuse(path, "path is absolute");
  const parts = path.split("/").filter((c) => c !== "" && c !== ".");
  if (parts.includes("..")) throw refuse(path, "path leaves the root");
  return parts;
}

/**
 * True when a relative symlink target climbs above the root, resolved
 * lexically from the link's own directory (`a/b -> ../../etc`). Absolute
 * targets are never above the root: they are read inside the container.
 */
export function symlinkLeavesRoot(linkParts: readonly string[], target: string): boolean {
  if (target.startsWith("/")) return false;
  let depth = linkParts.length - 1;
  for (const c of target.split("/")) {
    if (c === "" || c === ".") continue;
    depth += c === ".." ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

/** The device number mknodat(2) takes (the kernel's new_encode_dev). */
export function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Timestamps for utimensat(2): atime and mtime both set to the entry's mtime. */
function timespecs(mtime: number): BigInt64Array {
  const sec = Math.floor(mtime);
  const nsec = Math.min(999_999_999, Math.round((mtime - sec) * 1e9));
  return new BigInt64Array([BigInt(sec), BigInt(nsec), BigInt(sec), BigInt(nsec)]);
}

/** Reads and drops what is left of an entry's body. */
async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) { /* skipped */ }
}

function errnoOf(e: unknown): number | undefined {
  return e instanceof SyscallError ? e.errno : undefined;
}

/**
 * Opens `path` below `root` with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS):
 * ".." and absolute symlinks stop at `root`. Retries EAGAIN, which openat2
 * returns when a concurrent rename could have raced the lookup.
 */
function openInRoot(root: number, path: string, flags: number): number {
  const how = new BigUint64Array([
    BigInt(flags | O.CLOEXEC),
    0n,
    BigInt(RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS),
  ]);
  const p = path || ".";
  for (let attempt = 0;; attempt++) {
    try {
      return sys("openat2", [root, p, how, OPEN_HOW_SIZE_VER0], `${JSON.stringify(p)} in root`);
    } catch (e) {
      if (errnoOf(e) !== Errno.EAGAIN || attempt >= 8) throw e;
    }
  }
}

function close(fd: number): void {
  sys("close", [fd]);
}

/** Writes the tree of one archive below one open directory. */
class Extractor {
  entries = 0;
  bytes = 0;
  #root: number;
  #shift: { uid: number; gid: number };
  /** Directory metadata, applied after every entry (their mtime would change otherwise). */
  #dirs = new Map<string, TarEntry>();
  #layer: boolean;

  constructor(root: number, shift: { uid: number; gid: number }, layer: boolean) {
    this.#root = root;
    this.#shift = shift;
    this.#layer = layer;
  }

  /** Checks the whole entry, then creates it; nothing is written for a refused entry. */
  async add(e: TarEntry): Promise<void> {
    const parts = entryParts(e.path);
    const uid = e.uid + this.#shift.uid, gid = e.gid + this.#shift.gid;
    if (e.uid < 0 || e.gid < 0 || uid > MAX_ID || gid > MAX_ID) {
      throw refuse(e.path, `owner ${e.uid}:${e.gid} is out of range`);
    }
    if (parts.length === 0) {
      if (e.type !== "dir") throw refuse(e.path, `a ${e.type} cannot replace the root`);
      this.#dirs.set("", e);
      this.entries++;
      return;
    }
    let linkParts: string[] = [];
    if (e.type === "symlink" && e.linkname === "") throw refuse(e.path, "empty symlink target");
    // A symlink is stored as it is, whatever its target (even one that climbs
    // above "/"): it is never followed here, since every path is resolved in
    // root by openat2, and inside the container it resolves in its own root.
    const leaf = parts[parts.length - 1]!;
    if (this.#layer && leaf.startsWith(WHITEOUT_PREFIX)) {
      await this.#whiteout(e, parts, uid, gid);
      this.entries++;
      return;
    }
    if (e.type === "hardlink") {
      if (e.linkname.startsWith("/") || e.linkname.split("/").includes("..")) {
        throw refuse(e.path, `hardlink target ${JSON.stringify(e.linkname)} leaves the root`);
      }
      linkParts = entryParts(e.linkname);
      if (linkParts.length === 0) throw refuse(e.path, "hardlink to the root");
      if (linkParts.join("/") === parts.join("/")) {
        this.entries++; // a link to itself: the file is already there
        return;
      }
    }
    try {
      const parent = this.#parentDir(parts.slice(0, -1), e.path);
      try {
        await this.#create(e, parent, parts, linkParts, uid, gid);
      } finally {
        close(parent);
      }
    } catch (err) {
      if (err instanceof EntryError) throw err;
      throw new TsboxError(`extract tar entry ${JSON.stringify(e.path)}`, { cause: err });
    }
    this.entries++;
  }

  async #create(
    e: TarEntry,
    parent: number,
    parts: string[],
    linkParts: string[],
    uid: number,
    gid: number,
  ): Promise<void> {
    const leaf = parts[parts.length - 1]!;
    const ts = timespecs(e.mtime);
    switch (e.type) {
      case "dir":
        this.#mkdir(parent, leaf);
        this.#dirs.set(parts.join("/"), e);
        return;
      case "file": {
        const flags = O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC;
        const fd = this.#replacing(parent, leaf, () => sys("openat", [parent, leaf, flags, 0o600]));
        try {
          for await (const chunk of e.body) this.#write(fd, chunk, e.path);
          this.#fdMetadata(fd, e, uid, gid, ts);
        } finally {
          close(fd);
        }
        return;
      }
      case "symlink":
        this.#replacing(parent, leaf, () => sys("symlinkat", [e.linkname, parent, leaf]));
        break;
      case "hardlink": {
        const tleaf = linkParts[linkParts.length - 1]!;
        const tdir = linkParts.slice(0, -1).join("/");
        let tparent = -1;
        try {
          // The target's directory is resolved in root like any path, so it cannot be outside.
          tparent = openInRoot(this.#root, tdir, O.PATH | O.DIRECTORY);
          // flags 0: a symlink target is linked itself, not followed (as tar does).
          this.#replacing(parent, leaf, () => sys("linkat", [tparent, tleaf, parent, leaf, 0]));
        } catch (err) {
          if (errnoOf(err) !== Errno.ENOENT) throw err;
          const target = JSON.stringify(e.linkname);
          throw new EntryError(
            `extract tar entry ${
              JSON.stringify(e.path)
            }: hardlink target ${target} is not in the root`,
            { cause: err },
          );
        } finally {
          if (tparent >= 0) close(tparent);
        }
        return; // the inode's metadata is the target's
      }
      case "char":
      case "block":
      case "fifo": {
        const kind = e.type === "char" ? S_IFCHR : e.type === "block" ? S_IFBLK : S_IFIFO;
        const dev = makedev(e.devmajor, e.devminor);
        this.#replacing(parent, leaf, () => sys("mknodat", [parent, leaf, kind | 0o600, dev]));
        break;
      }
    }
    // Symlinks and device nodes are not opened (a fifo would block): work by name,
    // without following a symlink. chown first: it clears setuid/setgid bits.
    sys("fchownat", [parent, leaf, uid, gid, AT_SYMLINK_NOFOLLOW]);
    if (e.type !== "symlink") sys("fchmodat", [parent, leaf, e.mode]);
    this.#xattrs(
      e,
      (name, value) =>
        sys("lsetxattr", [`/proc/self/fd/${parent}/${leaf}`, name, value, value.length, 0]),
    );
    sys("utimensat", [parent, leaf, ts, AT_SYMLINK_NOFOLLOW]);
  }

  /** `.wh..wh..opq` marks its directory opaque; `.wh.NAME` becomes a whiteout NAME. */
  async #whiteout(e: TarEntry, parts: string[], uid: number, gid: number): Promise<void> {
    const leaf = parts[parts.length - 1]!;
    try {
      const parent = this.#parentDir(parts.slice(0, -1), e.path);
      try {
        if (leaf === OPAQUE_MARKER) {
          const y = new TextEncoder().encode("y");
          // The parent fd is O_PATH, which fsetxattr refuses: open the directory itself.
          const dir = sys("openat", [parent, ".", O.RDONLY | O.DIRECTORY | O.CLOEXEC]);
          try {
            sys("fsetxattr", [dir, "trusted.overlay.opaque", y, 1, 0], JSON.stringify(e.path));
          } finally {
            close(dir);
          }
          return;
        }
        // Other .wh..wh. names (aufs hardlink directories) mean nothing to overlay.
        if (leaf.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return;
        const name = leaf.slice(WHITEOUT_PREFIX.length);
        if (name === "" || name === "." || name === "..") throw refuse(e.path, "bad whiteout name");
        this.#replacing(parent, name, () => sys("mknodat", [parent, name, S_IFCHR | 0o600, 0]));
        sys("fchownat", [parent, name, uid, gid, AT_SYMLINK_NOFOLLOW]);
        sys("utimensat", [parent, name, timespecs(e.mtime), AT_SYMLINK_NOFOLLOW]);
      } finally {
        close(parent);
      }
    } catch (err) {
      if (err instanceof EntryError) throw err;
      throw new TsboxError(`extract whiteout ${JSON.stringify(e.path)}`, { cause: err });
    }
    await drain(e.body);
  }

  #write(fd: number, chunk: Uint8Array, path: string): void {
    let off = 0;
    while (off < chunk.length) {
      const n = sys("write", [fd, chunk.subarray(off), chunk.length - off], JSON.stringify(path));
      if (n <= 0) throw new TsboxError(`write ${JSON.stringify(path)}: no progress`);
      off += n;
    }
    this.bytes += chunk.length;
  }

  /** Ownership, mode, xattrs and times through an open fd, in the order the kernel needs. */
  #fdMetadata(fd: number, e: TarEntry, uid: number, gid: number, ts: BigInt64Array): void {
    sys("fchown", [fd, uid, gid], JSON.stringify(e.path)); // clears setuid/setgid: mode comes after
    sys("fchmod", [fd, e.mode], JSON.stringify(e.path));
    // fchown also drops security.capability, so xattrs come after it too.
    this.#xattrs(e, (name, value) => sys("fsetxattr", [fd, name, value, value.length, 0]));
    sys("utimensat", [fd, null, ts, 0], JSON.stringify(e.path));
  }

  /** Sets the entry's xattrs; a filesystem without xattr support skips them quietly. */
  #xattrs(e: TarEntry, set: (name: string, value: Uint8Array) => void): void {
    for (const [name, value] of Object.entries(e.xattrs ?? {})) {
      // An archive never sets overlay's own xattrs (redirect, metacopy, opaque): they
      // would make the overlay read other files than the layer holds.
      if (name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.")) continue;
      try {
        set(name, value);
      } catch (err) {
        const errno = errnoOf(err);
        if (errno === Errno.EOPNOTSUPP) continue;
        // user.* xattrs exist only on files and directories (xattr(7)).
        if (errno === Errno.EPERM && name.startsWith("user.") && e.type !== "file") continue;
        throw new TsboxError(`set xattr ${JSON.stringify(name)}`, { cause: err });
      }
    }
  }

  /** Creates directory `leaf` in `parent`, keeping an existing directory, replacing anything else. */
  #mkdir(parent: number, leaf: string): void {
    try {
      sys("mkdirat", [parent, leaf, 0o700]);
      return;
    } catch (err) {
      if (errnoOf(err) !== Errno.EEXIST) throw err;
    }
    try {
      close(sys("openat", [parent, leaf, O.PATH | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC]));
      return; // a real directory (not a symlink to one): keep it and its contents
    } catch (err) {
      const errno = errnoOf(err);
      if (errno !== Errno.ENOTDIR && errno !== Errno.ELOOP) throw err;
    }
    this.#replacing(parent, leaf, () => sys("mkdirat", [parent, leaf, 0o700]));
  }

  /** Runs `create`; if the name exists, removes it (as tar does) and runs it once more. */
  #replacing<T>(parent: number, leaf: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if (errnoOf(err) !== Errno.EEXIST) throw err;
    }
    try {
      sys("unlinkat", [parent, leaf, 0]);
    } catch (err) {
      if (errnoOf(err) !== Errno.EISDIR) throw err;
      sys("unlinkat", [parent, leaf, AT_REMOVEDIR]); // ENOTEMPTY: tar would fail too
    }
    return create();
  }

  /**
   * An O_PATH fd of the directory `parts` below the root, creating missing
   * components (0755, owned by the shifted root). Each lookup is openat2 in
   * root, and each creation is mkdirat of one name in a directory resolved so.
   */
  #parentDir(parts: string[], entry: string): number {
    const flags = O.PATH | O.DIRECTORY;
    try {
      return openInRoot(this.#root, parts.join("/"), flags);
    } catch (err) {
      if (errnoOf(err) !== Errno.ENOENT) throw err;
    }
    let fd = openInRoot(this.#root, "", flags);
    try {
      for (let i = 0; i < parts.length; i++) {
        const prefix = parts.slice(0, i + 1).join("/");
        let next: number;
        try {
          next = openInRoot(this.#root, prefix, flags);
        } catch (err) {
          if (errnoOf(err) !== Errno.ENOENT) throw err;
          const name = parts[i]!;
          try {
            sys("mkdirat", [fd, name, 0o755]);
            sys("fchownat", [fd, name, this.#shift.uid, this.#shift.gid, AT_SYMLINK_NOFOLLOW]);
            sys("fchmodat", [fd, name, 0o755]); // whatever the umask
          } catch (err) {
            if (errnoOf(err) !== Errno.EEXIST) throw err; // a dangling symlink: see below
          }
          try {
            next = openInRoot(this.#root, prefix, flags);
          } catch (err) {
            if (errnoOf(err) !== Errno.ENOENT) throw err;
            throw refuse(entry, `parent ${JSON.stringify(prefix)} is a dangling symlink`);
          }
        }
        close(fd);
        fd = next;
      }
      return fd;
    } catch (err) {
      close(fd);
      throw err;
    }
  }

  /** Applies the recorded directory metadata, deepest first. */
  finishDirs(): void {
    const paths = [...this.#dirs.keys()].sort((a, b) => b.split("/").length - a.split("/").length);
    for (const path of paths) {
      const e = this.#dirs.get(path)!;
      let fd: number;
      try {
        fd = openInRoot(this.#root, path, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
      } catch (err) {
        const errno = errnoOf(err);
        // Replaced by a later entry (a file, a symlink) or removed: nothing to update.
        if (errno === Errno.ENOENT || errno === Errno.ENOTDIR || errno === Errno.ELOOP) continue;
        throw new TsboxError(`set metadata of directory ${JSON.stringify(e.path)}`, {
          cause: err,
        });
      }
      try {
        this.#fdMetadata(
          fd,
          e,
          e.uid + this.#shift.uid,
          e.gid + this.#shift.gid,
          timespecs(e.mtime),
        );
      } catch (err) {
        throw new TsboxError(`set metadata of directory ${JSON.stringify(e.path)}`, {
          cause: err,
        });
      } finally {
        close(fd);
      }
    }
  }
}

/**
 * Extracts a tar archive (plain or gzip) into `targetDir`, which must exist.
 * Every path is resolved inside `targetDir` by the kernel (openat2
 * RESOLVE_IN_ROOT), so symlinks in the archive, absolute ones included, never
 * lead outside it. Refuses, and stops at, entries with an absolute path or a
 * ".." component, and hardlinks whose target is absolute or has "..";
 * symlinks are stored as they are and never followed. Ownership is the
 * archive's numeric uid/gid plus `idShift`. Needs root (chown, mknod).
 *
 * @example
 * const file = await Deno.open("busybox.tar");
 * const { entries, bytes } = await extractTar(file, "/var/lib/tsbox/images/x/rootfs");
 */
export async function extractTar(
  source: ArchiveSource,
  targetDir: string,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const shift = opts.idShift ?? { uid: 0, gid: 0 };
  if (![shift.uid, shift.gid].every((id) => Number.isInteger(id) && id >= 0 && id <= MAX_ID)) {
    if (source instanceof ReadableStream) await source.cancel();
    else source.close();
    throw new TsboxError(`bad id shift ${shift.uid}:${shift.gid}`);
  }
  const stream = await openArchive(source);
  let root: number;
  try {
    root = sys("openat", [AT_FDCWD, targetDir, O.PATH | O.DIRECTORY | O.CLOEXEC]);
  } catch (err) {
    await stream.cancel();
    throw new TsboxError(`open extraction target ${JSON.stringify(targetDir)}`, { cause: err });
  }
  const ex = new Extractor(root, shift, opts.layer ?? false);
  try {
    for await (const entry of readTar(stream)) await ex.add(entry);
    ex.finishDirs();
  } finally {
    close(root);
  }
  return { entries: ex.entries, bytes: ex.bytes };
}
