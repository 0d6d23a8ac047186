// Translation of OCI/fstab-style mount options ("ro", "nosuid", "rbind",
// "mode=755") into mount(2) flags, propagation flags and the data string.
// Pure; see mount(8) "FILESYSTEM-INDEPENDENT MOUNT OPTIONS".

import { MOUNT_ATTR, MS } from "../../ffi/constants.ts";

/** Parsed mount options. */
export interface ParsedOptions {
  /** MS_* flags for mount(2) (no propagation flags). */
  flags: number;
  /** MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE, with MS_REC for the r- forms; 0 if none. */
  propagation: number;
  /** Filesystem-specific options joined with ",". */
  data: string;
  /** A bind mount ("bind" or "rbind"). */
  bind: boolean;
  /** Recursive bind ("rbind"). */
  recursive: boolean;
  /** MOUNT_ATTR_* bits for mount_setattr(2), for bind mounts made with the new mount API. */
  attrs: number;
}

const SET: Record<string, number> = {
  ro: MS.RDONLY,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  sync: MS.SYNCHRONOUS,
  dirsync: MS.DIRSYNC,
  remount: MS.REMOUNT,
  mand: MS.MANDLOCK,
  noatime: MS.NOATIME,
  nodiratime: MS.NODIRATIME,
  relatime: MS.RELATIME,
  strictatime: MS.STRICTATIME,
  nosymfollow: MS.NOSYMFOLLOW,
};
const CLEAR: Record<string, number> = {
  rw: MS.RDONLY,
  suid: MS.NOSUID,
  dev: MS.NODEV,
  exec: MS.NOEXEC,
  async: MS.SYNCHRONOUS,
  nomand: MS.MANDLOCK,
  atime: MS.NOATIME,
  diratime: MS.NODIRATIME,
  norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME,
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};
const ATTR: [number, number][] = [
  [MS.RDONLY, MOUNT_ATTR.RDONLY],
  [MS.NOSUID, MOUNT_ATTR.NOSUID],
  [MS.NODEV, MOUNT_ATTR.NODEV],
  [MS.NOEXEC, MOUNT_ATTR.NOEXEC],
  [MS.NOATIME, MOUNT_ATTR.NOATIME],
  [MS.NODIRATIME, MOUNT_ATTR.NODIRATIME],
  [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
];

/**
 * Parses options.
 * @example parseMountOptions(["rbind", "ro"]) // { flags: MS_RDONLY, bind: true, recursive: true, ... }
 */
export function parseMountOptions(options: readonly string[] = []): ParsedOptions {
  let flags = 0, propagation = 0, bind = false, recursive = false;
  const data: string[] = [];
  for (const o of options) {
    if (o in SET) flags |= SET[o]!;
    else if (o in CLEAR) flags &= ~CLEAR[o]!;
    else if (o in PROPAGATION) propagation = PROPAGATION[o]!;
    else if (o === "bind") bind = true;
    else if (o === "rbind") bind = recursive = true;
    else if (o === "defaults" || o === "idmap" || o === "ridmap") continue; // idmap: the executor's
    else data.push(o);
  }
  let attrs = 0;
  for (const [ms, attr] of ATTR) if (flags & ms) attrs |= attr;
  return { flags, propagation, data: data.join(","), bind, recursive, attrs };
}

/** Options of tmpfs itself (Documentation/filesystems/tmpfs.rst), and how each value reads. */
const TMPFS_DATA: Record<string, RegExp> = {
  size: /^\d+[kmgtpe%]?$/i,
  nr_blocks: /^\d+[kmgtpe]?$/i,
  nr_inodes: /^\d+[kmgtpe]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
  huge: /^(never|always|within_size|advise|deny|force)$/,
  mpol: /^(default|prefer|bind|interleave|local)(:[0-9,-]+)?$/,
};
/** Options without a value that tmpfs takes. */
const TMPFS_FLAGS = ["noswap", "inode32", "inode64", "quota", "usrquota", "grpquota"];

/**
 * Checks `--tmpfs` options before anything is made (the kernel would only
 * say EINVAL, after the container was recorded): mount flags, propagation,
 * and tmpfs's own options with a well-formed value. Throws naming the option.
 *
 * @example checkTmpfsOptions(["size=64m", "mode=1777", "noexec"]) // ok
 */
export function checkTmpfsOptions(options: readonly string[]): void {
  for (const o of options) {
    if (o in SET || o in CLEAR || o in PROPAGATION || o === "defaults") {
      if (o === "remount") throw new TypeError(`option "remount" is not for a new tmpfs`);
      continue;
    }
    if (TMPFS_FLAGS.includes(o)) continue;
    const eq = o.indexOf("=");
    const key = eq < 0 ? o : o.slice(0, eq);
    const re = TMPFS_DATA[key];
    if (!re) throw new TypeError(`unknown tmpfs option ${JSON.stringify(o)}`);
    if (eq < 0 || !re.test(o.slice(eq + 1))) {
      throw new TypeError(`invalid value for tmpfs option ${JSON.stringify(o)}`);
    }
  }
}
