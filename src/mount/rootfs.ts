// Builds a container's root filesystem inside the staging mount namespace
// (staging.ts): the overlay (or a bind of --rootfs), tmpfs and bind mounts of
// the spec, device nodes, and every mountpoint the child will need. Mounts
// that depend on the child's own namespaces (proc, sysfs, devpts, mqueue,
// cgroup) are left to the child; see init_plan.ts. Targets are resolved with
// securejoin.ts. Bind mounts use the new mount API (open_tree, mount_setattr,
// move_mount: see mount_setattr(2)) so read-only applies to every submount.

import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_RECURSIVE,
  AT_SYMLINK_NOFOLLOW,
  MOUNT_ATTR,
  MOVE_MOUNT_F_EMPTY_PATH,
  O,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  S_IFCHR,
  S_IFDIR,
} from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import type { Tracer } from "../runtime/trace.ts";
import type { DeviceNode, Mount } from "../spec/types.ts";
import { parseMountOptions } from "./options.ts";
import { fdPath, fileType, mkdirInRoot, type Owner, touchInRoot } from "./securejoin.ts";

const MOVE_MOUNT_T_EMPTY_PATH = 0x40;

/** Mount types the child mounts itself, in its own namespaces. */
export const CHILD_MOUNT_TYPES: ReadonlySet<string> = new Set([
  "proc",
  "sysfs",
  "devpts",
  "mqueue",
  "cgroup",
  "cgroup2",
]);

/** Where the root filesystem comes from. */
export type RootfsSource =
  | { kind: "overlay"; lower: string[]; upper: string; work: string }
  | { kind: "dir"; path: string };

/** What to build. */
export interface RootfsRequest {
  /** Directory the root is mounted on (exists, empty). */
  mountPoint: string;
  source: RootfsSource;
  mounts: readonly Mount[];
  devices: readonly DeviceNode[];
  readonly: boolean;
  /** Directories to create (the working directory). */
  ensureDirs: readonly string[];
  /** The container's root user on the host, with --userns remap. */
  owner?: Owner;
  /** With --userns remap: a user namespace fd whose mapping the image layers are shown through. */
  idmap?: { usernsFd: number; scratchDir: string };
  /** Id-mapped bind mounts (OCI "idmap"/"ridmap" or a mount's own mappings): mount index -> user namespace fd. */
  mountIdmaps?: ReadonlyMap<number, number>;
}

const q = JSON.stringify;

function makedev(major: number, minor: number): bigint {
  const M = BigInt(major), m = BigInt(minor);
  return (m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & ~0xffn) << 12n) | ((M & ~0xfffn) << 32n);
}

function setattr(fd: number, set: number, recursive: boolean, usernsFd = 0): void {
  const attr = new BigUint64Array([BigInt(set), 0n, 0n, BigInt(usernsFd)]);
  sys("mount_setattr", [
    fd,
    "",
    AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
    new Uint8Array(attr.buffer),
    32,
  ], `fd ${fd}`);
}

/** A detached copy of the tree at `source` (recursive when asked). */
function cloneTree(source: string, recursive: boolean): number {
  return sys("open_tree", [
    AT_FDCWD,
    source,
    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0),
  ], q(source));
}

function attachTree(tree: number, targetFd: number, target: string): void {
  sys(
    "move_mount",
    [tree, "", targetFd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH],
    `onto ${q(target)}`,
  );
}

/** Shows `dir` through the user namespace's id mapping at a new mountpoint under `scratch`. */
function idmapped(
  dir: string,
  usernsFd: number,
  scratch: string,
  i: number,
  trace: Tracer,
): string {
  const target = `${scratch}/${i}`;
  Deno.mkdirSync(target, { recursive: true });
  trace.run(`idmap ${q(dir)} at ${q(target)}`, () => {
    const tree = cloneTree(dir, true);
    try {
      setattr(tree, MOUNT_ATTR.IDMAP, true, usernsFd);
      sys("move_mount", [tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH], `onto ${q(target)}`);
    } finally {
      sys("close", [tree]);
    }
  });
  return target;
}

function mountRoot(req: RootfsRequest, trace: Tracer): void {
  const src = req.source;
  if (src.kind === "overlay") {
    const lower = req.idmap
      ? src.lower.map((l, i) => idmapped(l, req.idmap!.usernsFd, req.idmap!.scratchDir, i, trace))
      : src.lower;
    mountOverlay(lower, src.upper, src.work, req.mountPoint, trace);
  } else {
    trace.run(`bind ${q(src.path)} on ${q(req.mountPoint)}`, () => {
      const tree = cloneTree(src.path, true);
      try {
        if (req.idmap) setattr(tree, MOUNT_ATTR.IDMAP, true, req.idmap.usernsFd);
        sys(
          "move_mount",
          [tree, "", AT_FDCWD, req.mountPoint, MOVE_MOUNT_F_EMPTY_PATH],
          `onto ${q(req.mountPoint)}`,
        );
      } finally {
        sys("close", [tree]);
      }
    });
  }
}

/** fsconfig(2) commands (linux/mount.h). */
const FSCONFIG = { SET_STRING: 1, CMD_CREATE: 6 } as const;
const FSOPEN_CLOEXEC = 1;
const FSMOUNT_CLOEXEC = 1;
/** What mount(2) copies of its data argument: one page. */
const MOUNT_DATA_MAX = 4095;

/** The messages the kernel left on an fs context (fsopen(2): "e overlayfs: ..."). */
function contextMessages(fd: number): string {
  const out: string[] = [];
  const buf = new Uint8Array(1024);
  for (let i = 0; i < 16; i++) {
    const n = sysRaw("read", [fd, buf, buf.length]);
    if (n <= 0) break;
    out.push(new TextDecoder().decode(buf.subarray(0, n)).trim());
  }
  return out.join("; ");
}

/**
 * Mounts an overlay of `lower` (topmost first), `upper` and `work` on
 * `target`. With the new mount API, each lower layer is its own
 * fsconfig(FSCONFIG_SET_STRING, "lowerdir+") (Linux 6.8+), so any number of
 * layers fits (overlayfs' limit is 500). Older kernels take mount(2) with one
 * page of options: when absolute paths do not fit, the layers (which share a
 * parent: the store's l/ links, or the id-mapped scratch mounts) are named
 * relative to it, from a working directory that only this thread has (the
 * staging namespace unshared its fs_struct; Staging.leave restores it).
 */
export function mountOverlay(
  lower: readonly string[],
  upper: string,
  work: string,
  target: string,
  trace: Tracer,
): void {
  // Overlay's option syntax splits on ':' and ','; such a path would be misread.
  for (const p of [...lower, upper, work]) {
    if (/[:,]/.test(p)) throw new TsboxError(`overlay path ${q(p)} contains ':' or ','`);
  }
  const what = `${lower.length} lower layer${lower.length === 1 ? "" : "s"}, upper ${q(upper)}`;
  const fd = sysRaw("fsopen", ["overlay", FSOPEN_CLOEXEC]);
  if (fd >= 0) {
    let viaFsconfig = true;
    try {
      trace.run(`mount overlay on ${q(target)} (fsopen, ${what})`, () => {
        for (const l of lower) {
          const r = sysRaw("fsconfig", [fd, FSCONFIG.SET_STRING, "lowerdir+", l, 0]);
          if (r === -Errno.EINVAL && l === lower[0]) {
            viaFsconfig = false; // no "lowerdir+" before Linux 6.8
            return;
          }
          if (r < 0) {
            sys("fsconfig", [fd, FSCONFIG.SET_STRING, "lowerdir+", l, 0], `lowerdir+ ${q(l)}`);
          }
        }
        sys("fsconfig", [fd, FSCONFIG.SET_STRING, "upperdir", upper, 0], `upperdir ${q(upper)}`);
        sys("fsconfig", [fd, FSCONFIG.SET_STRING, "workdir", work, 0], `workdir ${q(work)}`);
        try {
          sys("fsconfig", [fd, FSCONFIG.CMD_CREATE, null, null, 0], `overlay (${what})`);
        } catch (e) {
          const msg = contextMessages(fd);
          throw new TsboxError(`create overlay${msg ? ` (${msg})` : ""}`, { cause: e });
        }
        const mnt = sys("fsmount", [fd, FSMOUNT_CLOEXEC, 0], "overlay");
        try {
          sys(
            "move_mount",
            [mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH],
            `onto ${q(target)}`,
          );
        } finally {
          sys("close", [mnt]);
        }
      });
    } finally {
      sys("close", [fd]);
    }
    if (viaFsconfig) return;
  }
  let names = [...lower];
  let data = `lowerdir=${names.join(":")},upperdir=${upper},workdir=${work}`;
  let cwd: string | undefined;
  if (data.length > MOUNT_DATA_MAX) {
    const parent = lower[0]!.slice(0, lower[0]!.lastIndexOf("/"));
    if (!lower.every((l) => l.slice(0, l.lastIndexOf("/")) === parent)) {
      throw new TsboxError(`overlay options for ${what} do not fit in one page`);
    }
    cwd = parent;
    names = lower.map((l) => l.slice(parent.length + 1));
    data = `lowerdir=${names.join(":")},upperdir=${upper},workdir=${work}`;
    if (data.length > MOUNT_DATA_MAX) {
      throw new TsboxError(`overlay options for ${what} do not fit in one page`);
    }
  }
  trace.run(`mount overlay on ${q(target)} (${data.length} bytes of options, ${what})`, () => {
    if (cwd !== undefined) sys("chdir", [cwd]);
    sys("mount", ["overlay", target, "overlay", 0, data], `"overlay" on ${q(target)} (${what})`);
  });
}

function bindMount(
  rootFd: number,
  m: Mount,
  owner: Owner | undefined,
  usernsFd: number | undefined,
  trace: Tracer,
): void {
  const opts = parseMountOptions(m.options);
  const source = m.source ?? "";
  let isDir: boolean;
  try {
    isDir = Deno.statSync(source).isDirectory;
  } catch (e) {
    throw new TsboxError(`bind mount source ${q(source)} for ${q(m.destination)}`, { cause: e });
  }
  trace.run(
    `bind ${q(source)} on ${q(m.destination)}${opts.attrs ? ` (${m.options?.join(",")})` : ""}`,
    () => {
      const target = isDir
        ? mkdirInRoot(rootFd, m.destination, owner)
        : touchInRoot(rootFd, m.destination, owner);
      try {
        const tree = cloneTree(source, opts.recursive);
        try {
          if (opts.attrs) setattr(tree, opts.attrs, true);
          if (usernsFd !== undefined) setattr(tree, MOUNT_ATTR.IDMAP, opts.recursive, usernsFd);
          attachTree(tree, target, m.destination);
          // Propagation of the attached mount (the fd now names it): shared,
          // slave... among the container's own mounts; the staging namespace
          // is private, so nothing propagates from or to the host.
          if (opts.propagation) {
            sys("mount", [null, fdPath(tree), null, opts.propagation, null], q(m.destination));
          }
        } finally {
          sys("close", [tree]);
        }
      } finally {
        sys("close", [target]);
      }
    },
  );
}

function tmpfsMount(rootFd: number, m: Mount, owner: Owner | undefined, trace: Tracer): void {
  const opts = parseMountOptions(m.options);
  let data = opts.data;
  if (owner && !/(^|,)uid=/.test(data)) {
    data = [data, `uid=${owner.uid},gid=${owner.gid}`].filter(Boolean).join(",");
  }
  trace.run(`mount tmpfs on ${q(m.destination)} (${data})`, () => {
    const target = mkdirInRoot(rootFd, m.destination, owner);
    try {
      sys(
        "mount",
        [m.source ?? "tmpfs", fdPath(target), "tmpfs", opts.flags, data || null],
        `"tmpfs" on ${q(m.destination)}`,
      );
    } finally {
      sys("close", [target]);
    }
  });
}

/** A filesystem of another type (overlay, ext4 on a device, ...), mounted as the spec says. */
function otherMount(rootFd: number, m: Mount, owner: Owner | undefined, trace: Tracer): void {
  const opts = parseMountOptions(m.options);
  trace.run(`mount ${m.type} on ${q(m.destination)}`, () => {
    const target = mkdirInRoot(rootFd, m.destination, owner);
    try {
      sys(
        "mount",
        [m.source ?? m.type!, fdPath(target), m.type!, opts.flags, opts.data || null],
        `${q(m.source ?? m.type)} on ${q(m.destination)} type ${m.type}`,
      );
    } finally {
      sys("close", [target]);
    }
  });
}

function makeDevices(
  rootFd: number,
  devices: readonly DeviceNode[],
  owner: Owner | undefined,
  trace: Tracer,
): void {
  trace.run(`create ${devices.length} device nodes and /dev links`, () => {
    const dev = mkdirInRoot(rootFd, "/dev", owner);
    try {
      for (const d of devices) {
        const rel = d.path.replace(/^\/dev\//, "");
        const slash = rel.lastIndexOf("/");
        // /dev/net/tun, /dev/dri/card0: the directories are made first.
        const dir = slash < 0 ? dev : mkdirInRoot(rootFd, `/dev/${rel.slice(0, slash)}`, owner);
        const name = rel.slice(slash + 1);
        try {
          const type = d.type === "b" ? 0o060000 : S_IFCHR;
          sysRaw("unlinkat", [dir, name, 0]);
          sys(
            "mknodat",
            [dir, name, type | 0o600, makedev(d.major ?? 0, d.minor ?? 0)],
            `${q(d.path)} ${d.major}:${d.minor}`,
          );
          sys("fchmodat", [dir, name, d.fileMode ?? 0o666, 0], q(d.path));
          const uid = (d.uid ?? 0) + (owner?.uid ?? 0), gid = (d.gid ?? 0) + (owner?.gid ?? 0);
          if (uid || gid) sys("fchownat", [dir, name, uid, gid, AT_SYMLINK_NOFOLLOW], q(d.path));
        } finally {
          if (dir !== dev) sys("close", [dir]);
        }
      }
      const links: [string, string][] = [
        ["fd", "/proc/self/fd"],
        ["stdin", "/proc/self/fd/0"],
        ["stdout", "/proc/self/fd/1"],
        ["stderr", "/proc/self/fd/2"],
        ["ptmx", "pts/ptmx"],
      ];
      for (const [name, target] of links) {
        const r = sysRaw("symlinkat", [target, dev, name]);
        if (r < 0 && r !== -Errno.EEXIST) sys("symlinkat", [target, dev, name], `/dev/${name}`);
        if (owner) {
          sys("fchownat", [dev, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW], `/dev/${name}`);
        }
      }
    } finally {
      sys("close", [dev]);
    }
  });
}

/**
 * Mounts the root filesystem and everything on it that the parent can make.
 * Must run in a staging mount namespace. Returns the paths (on the host side
 * of the staging namespace) the child mounts its own filesystems on.
 */
/**
 * Refuses a mount destination the child mounts by path (proc, sysfs...)
 * when the image makes part of it a symlink: the child, before pivot_root,
 * would follow it out of the root (runc refuses the same, CVE-2019-19921).
 * `fd` is the destination as resolved inside the root.
 */
function checkPlainPath(fd: number, mountPoint: string, destination: string): void {
  const real = Deno.readLinkSync(fdPath(fd));
  const want = `${mountPoint}${destination.replace(/\/+/g, "/")}`.replace(/\/+$/, "");
  if (real !== want) {
    throw new TsboxError(
      `mount destination ${q(destination)} goes through a symlink in the image (it is ${
        q(real.startsWith(mountPoint) ? real.slice(mountPoint.length) || "/" : real)
      } in the root): refusing to mount there`,
    );
  }
}

export function prepareRootfs(req: RootfsRequest, trace: Tracer): void {
  mountRoot(req, trace);
  const rootFd = sys("open", [req.mountPoint, O.PATH | O.DIRECTORY | O.CLOEXEC]);
  try {
    if (req.owner && req.source.kind === "overlay") {
      // The root directory itself comes from the upper layer.
      sys(
        "fchownat",
        [rootFd, "", req.owner.uid, req.owner.gid, AT_EMPTY_PATH],
        "the container root",
      );
    }
    let devicesMade = false;
    let rootPath: string | undefined;
    for (const [i, m] of req.mounts.entries()) {
      const type = m.type ?? (parseMountOptions(m.options).bind ? "bind" : "");
      if (CHILD_MOUNT_TYPES.has(type)) {
        // /sys/fs/cgroup lies inside sysfs, which the child mounts.
        if (!m.destination.startsWith("/sys/")) {
          const fd = mkdirInRoot(rootFd, m.destination, req.owner);
          try {
            checkPlainPath(fd, rootPath ??= Deno.readLinkSync(fdPath(rootFd)), m.destination);
          } finally {
            closeFd(fd);
          }
        }
        continue;
      }
      if (type === "bind" || parseMountOptions(m.options).bind) {
        bindMount(rootFd, m, req.owner, req.mountIdmaps?.get(i), trace);
      } else if (type === "tmpfs") tmpfsMount(rootFd, m, req.owner, trace);
      else if (type) otherMount(rootFd, m, req.owner, trace);
      else throw new TsboxError(`mount ${q(m.destination)} has no type`);
      if (m.destination === "/dev" && !devicesMade) {
        makeDevices(rootFd, req.devices, req.owner, trace);
        devicesMade = true;
      }
    }
    if (!devicesMade) makeDevices(rootFd, req.devices, req.owner, trace);
    for (const d of req.ensureDirs) {
      const fd = mkdirInRoot(rootFd, d, req.owner);
      const isDir = fileType(fd) === S_IFDIR;
      closeFd(fd);
      if (!isDir) throw new TsboxError(`working directory ${q(d)} is not a directory`);
    }
    if (req.readonly) {
      trace.run("make the root read-only", () => setattr(rootFd, MOUNT_ATTR.RDONLY, false));
    }
  } finally {
    closeFd(rootFd);
  }
}

function closeFd(fd: number): void {
  sys("close", [fd]);
}
