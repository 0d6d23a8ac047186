// `tsbox cp`: copy files between a container and the host. The container's
// side is reached through a directory fd of its root — /proc/PID/root while
// it runs (mounts and volumes included), or its overlay mounted in a staging
// mount namespace when it is stopped — and every path inside is resolved
// with openat2 RESOLVE_IN_ROOT (src/mount/securejoin.ts), so a symlink the
// container planted can never send a copy out of its root.

import { hasProcess } from "./state_machine.ts";
import { AT_SYMLINK_NOFOLLOW, O, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError, UsageError } from "../errors.ts";
import { prepareRootfs } from "../mount/rootfs.ts";
import { fdPath, mkdirInRoot, openInRoot, type Owner } from "../mount/securejoin.ts";
import { Staging } from "../mount/staging.ts";
import { NO_TRACE } from "../runtime/trace.ts";
import { hostId } from "../runtime/userns.ts";
import { type ContainerRecord, findContainer } from "../state/containers.ts";
import { containerFromRecord } from "./create.ts";
import { reconcile } from "./status.ts";

/** One side of a copy: "CONTAINER:PATH" or a host path. */
export function parseCopyArg(arg: string): { container?: string; path: string } {
  const m = arg.match(/^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/);
  if (m && !arg.startsWith("/") && !arg.startsWith(".")) {
    return { container: m[1]!, path: m[2] || "/" };
  }
  return { path: arg };
}

/** An O_PATH fd of the container's root, and how to release it. */
function openRoot(rec: ContainerRecord): { fd: number; release: () => void } {
  if (hasProcess(rec)) {
    const fd = sys(
      "open",
      [`/proc/${rec.pid}/root`, O.PATH | O.DIRECTORY | O.CLOEXEC],
      `root of ${rec.name}`,
    );
    return { fd, release: () => sysRaw("close", [fd]) };
  }
  const c = containerFromRecord(rec);
  const staging = Staging.enter(NO_TRACE);
  try {
    // Only the root filesystem: volumes of a stopped container are on the host already.
    prepareRootfs({
      mountPoint: `${c.dir}/rootfs`,
      source: c.rootfs,
      mounts: [],
      devices: [],
      readonly: false,
      ensureDirs: [],
    }, NO_TRACE);
    const fd = sys("open", [`${c.dir}/rootfs`, O.PATH | O.DIRECTORY | O.CLOEXEC]);
    return { fd, release: () => sysRaw("close", [fd]) };
  } finally {
    // The open fd keeps the overlay alive after the staging namespace is gone.
    staging.leave();
  }
}

function fstatMode(fd: number): number {
  const st = new Uint8Array(144);
  sys("fstat", [fd, st]);
  return new DataView(st.buffer).getUint32(24, true);
}

function readlinkFd(fd: number): string {
  const buf = new Uint8Array(4096);
  const n = sys("readlinkat", [fd, "", buf, buf.length]);
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** Copies the tree at `src` (inside the root `root`) to host path `dst`. */
function copyOut(root: number, src: string, dst: string): void {
  const fd = openInRoot(root, src, O.PATH | O.NOFOLLOW);
  try {
    const mode = fstatMode(fd);
    const perm = mode & 0o7777;
    if ((mode & S_IFMT) === S_IFLNK) {
      Deno.symlinkSync(readlinkFd(fd), dst);
    } else if ((mode & S_IFMT) === S_IFDIR) {
      Deno.mkdirSync(dst, { recursive: true, mode: perm });
      for (const e of Deno.readDirSync(fdPath(fd))) {
        copyOut(root, `${src.replace(/\/+$/, "")}/${e.name}`, `${dst}/${e.name}`);
      }
    } else if ((mode & S_IFMT) === S_IFREG) {
      const rd = openInRoot(root, src, O.RDONLY | O.NOFOLLOW);
      try {
        Deno.writeFileSync(dst, Deno.readFileSync(fdPath(rd)), { mode: perm });
        Deno.chmodSync(dst, perm);
      } finally {
        sysRaw("close", [rd]);
      }
    }
  } finally {
    sysRaw("close", [fd]);
  }
}

/** Copies host path `src` to `dst` inside the root; new files belong to `owner`. */
function copyIn(root: number, src: string, dst: string, owner: Owner): void {
  const info = Deno.lstatSync(src);
  const slash = dst.lastIndexOf("/");
  const parentPath = dst.slice(0, slash) || "/";
  const name = dst.slice(slash + 1);
  if (!name) throw new UsageError(`invalid destination ${JSON.stringify(dst)}`);
  const parent = mkdirInRoot(root, parentPath, owner);
  try {
    const dirfd = sys("openat", [parent, ".", O.RDONLY | O.DIRECTORY | O.CLOEXEC]);
    try {
      if (info.isDirectory) {
        const r = sysRaw("mkdirat", [dirfd, name, (info.mode ?? 0o755) & 0o7777]);
        if (r < 0 && r !== -Errno.EEXIST) {
          throw new SyscallError("mkdirat", -r, JSON.stringify(dst));
        }
        if (r === 0) sys("fchownat", [dirfd, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW]);
        for (const e of Deno.readDirSync(src)) {
          copyIn(root, `${src}/${e.name}`, `${dst}/${e.name}`, owner);
        }
      } else if (info.isSymlink) {
        sysRaw("unlinkat", [dirfd, name, 0]);
        sys("symlinkat", [Deno.readLinkSync(src), dirfd, name], JSON.stringify(dst));
        sys("fchownat", [dirfd, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW]);
      } else if (info.isFile) {
        // Replace, never write through: an existing symlink at the target is removed first.
        const existing = sysRaw("openat", [dirfd, name, O.PATH | O.NOFOLLOW | O.CLOEXEC]);
        if (existing >= 0) {
          const isDir = (fstatMode(existing) & S_IFMT) === S_IFDIR;
          sysRaw("close", [existing]);
          if (isDir) {
            return copyIn(root, src, `${dst}/${src.slice(src.lastIndexOf("/") + 1)}`, owner);
          }
          sys("unlinkat", [dirfd, name, 0], JSON.stringify(dst));
        }
        const out = sys("openat", [
          dirfd,
          name,
          O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC,
          (info.mode ?? 0o644) & 0o7777,
        ], JSON.stringify(dst));
        try {
          const data = Deno.readFileSync(src);
          let off = 0;
          while (off < data.length) {
            off += sys("write", [out, data.subarray(off), data.length - off]);
          }
          sys("fchown", [out, owner.uid, owner.gid]);
          sys("fchmod", [out, (info.mode ?? 0o644) & 0o7777]);
        } finally {
          sysRaw("close", [out]);
        }
      }
    } finally {
      sysRaw("close", [dirfd]);
    }
  } finally {
    sysRaw("close", [parent]);
  }
}

/** `tsbox cp SRC DST`, one side being CONTAINER:PATH. */
export function copy(srcArg: string, dstArg: string): void {
  const src = parseCopyArg(srcArg), dst = parseCopyArg(dstArg);
  if ((src.container === undefined) === (dst.container === undefined)) {
    throw new UsageError("copying needs exactly one side to be CONTAINER:PATH");
  }
  const rec = reconcile(findContainer((src.container ?? dst.container)!));
  const root = openRoot(rec);
  try {
    if (src.container !== undefined) {
      let target = dst.path;
      try {
        if (Deno.statSync(target).isDirectory) {
          target = `${target}/${src.path.replace(/\/+$/, "").split("/").pop() || "root"}`;
        }
      } catch { /* a new name */ }
      copyOut(root.fd, src.path, target);
    } else {
      let target = dst.path.startsWith("/") ? dst.path : `/${dst.path}`;
      const uidMap = rec.spec.linux?.uidMappings, gidMap = rec.spec.linux?.gidMappings;
      const owner = { uid: hostId(uidMap, 0) ?? 0, gid: hostId(gidMap, 0) ?? 0 };
      try {
        const probe = openInRoot(root.fd, target, O.PATH);
        const isDir = (fstatMode(probe) & S_IFMT) === S_IFDIR;
        sysRaw("close", [probe]);
        if (isDir || target.endsWith("/")) {
          target = `${target.replace(/\/+$/, "")}/${src.path.replace(/\/+$/, "").split("/").pop()}`;
        }
      } catch { /* a new name */ }
      try {
        Deno.lstatSync(src.path);
      } catch (e) {
        throw new TsboxError(`copy ${JSON.stringify(src.path)}`, { cause: e });
      }
      copyIn(root.fd, src.path.replace(/\/+$/, "") || "/", target, owner);
    }
  } finally {
    root.release();
  }
}
