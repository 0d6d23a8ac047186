// Writing tar archives (POSIX pax, as Go's archive/tar and GNU tar read
// them) from a directory tree: regular files, directories, symlinks, hard
// links (by inode), device nodes and fifos, with owners, modes (setuid,
// setgid, sticky), mtimes and extended attributes (SCHILY.xattr.*, e.g.
// security.capability). Used by commit (an overlay upper dir becomes a
// layer: whiteouts become `.wh.` entries), export and diff. Synchronous on
// purpose: it may run inside a staging mount namespace that only the
// calling thread is in. Kernel interfaces: lstat(2), readlink(2),
// llistxattr(2)/lgetxattr(2) (see xattr(7)).

import { sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";

const enc = new TextEncoder();
const BLOCK = 512;

/** Where the archive goes, a chunk at a time. */
export type Sink = (chunk: Uint8Array) => void;

/** The extended attributes of a path (not following symlinks); trusted.overlay.* included. */
export function listXattrs(path: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  let buf = new Uint8Array(1024);
  let n = sysRaw("llistxattr", [path, buf, buf.length]);
  if (n === -34 /* ERANGE */) {
    buf = new Uint8Array(65536);
    n = sysRaw("llistxattr", [path, buf, buf.length]);
  }
  if (n <= 0) return out;
  for (const name of new TextDecoder().decode(buf.subarray(0, n)).split("\0")) {
    if (!name) continue;
    let v = new Uint8Array(256);
    let m = sysRaw("lgetxattr", [path, name, v, v.length]);
    if (m === -34) {
      v = new Uint8Array(65536);
      m = sysRaw("lgetxattr", [path, name, v, v.length]);
    }
    if (m >= 0) out[name] = v.slice(0, m);
  }
  return out;
}

/** A pax record "<len> <key>=<value>\n". */
function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const rest = enc.encode(` ${key}=`).length + value.length + 1;
  let len = rest + 1;
  while (String(len).length + rest !== len) len++;
  const head = enc.encode(`${len} ${key}=`);
  const out = new Uint8Array(len);
  out.set(head);
  out.set(value, head.length);
  out[len - 1] = 0x0a;
  return out;
}

/** What one entry is. */
export interface EntryHeader {
  name: string;
  type: "0" | "1" | "2" | "3" | "4" | "5" | "6";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Uint8Array>;
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, "0");
}

/** The header blocks (a pax header first when needed) of one entry. */
export function headerBlocks(h: EntryHeader): Uint8Array {
  const pax: Uint8Array[] = [];
  const name = enc.encode(h.name);
  const link = enc.encode(h.linkname ?? "");
  let ustarName = h.name;
  let prefix = "";
  if (name.length > 100) {
    // ustar's prefix field holds up to 155 bytes of leading directories.
    const cut = h.name.lastIndexOf("/", 155);
    if (
      cut > 0 && enc.encode(h.name.slice(0, cut)).length <= 155 &&
      enc.encode(h.name.slice(cut + 1)).length <= 100
    ) {
      prefix = h.name.slice(0, cut);
      ustarName = h.name.slice(cut + 1);
    } else {
      pax.push(paxRecord("path", name));
      ustarName = h.name.slice(0, 99);
    }
  }
  if (link.length > 100) pax.push(paxRecord("linkpath", link));
  if (h.uid > 0o7777777) pax.push(paxRecord("uid", enc.encode(String(h.uid))));
  if (h.gid > 0o7777777) pax.push(paxRecord("gid", enc.encode(String(h.gid))));
  if (h.size > 0o77777777777) pax.push(paxRecord("size", enc.encode(String(h.size))));
  for (const [k, v] of Object.entries(h.xattrs ?? {})) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const parts: Uint8Array[] = [];
  if (pax.length) {
    const data = concat(pax);
    parts.push(ustar({ ...h, name: "", type: "0", size: data.length }, "PaxHeaders/x", "", "x"));
    parts.push(padded(data));
  }
  parts.push(ustar(h, ustarName, prefix, h.type));
  return concat(parts);
}

function ustar(h: EntryHeader, name: string, prefix: string, type: string): Uint8Array {
  const b = new Uint8Array(BLOCK);
  const put = (off: number, s: string, max: number) => b.set(enc.encode(s).subarray(0, max), off);
  put(0, name, 100);
  put(100, octal(h.mode & 0o7777, 8), 8);
  put(108, octal(Math.min(h.uid, 0o7777777), 8), 8);
  put(116, octal(Math.min(h.gid, 0o7777777), 8), 8);
  put(124, octal(Math.min(h.size, 0o77777777777), 12), 12);
  put(136, octal(Math.max(0, Math.floor(h.mtime)), 12), 12);
  put(156, type, 1);
  put(157, h.linkname ?? "", 100);
  put(257, "ustar\u000000", 8);
  put(329, octal(h.devmajor ?? 0, 8), 8);
  put(337, octal(h.devminor ?? 0, 8), 8);
  put(345, prefix, 155);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  put(148, `${octal(sum, 7)}\0`, 8);
  return b;
}

function padded(data: Uint8Array): Uint8Array {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  if (pad === 0) return data;
  const out = new Uint8Array(data.length + pad);
  out.set(data);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Options of `writeTree`. */
export interface TreeOptions {
  /**
   * The tree is an overlay upper dir: a 0:0 character device is a whiteout
   * (`.wh.NAME`), a directory with trusted.overlay.opaque=y gets a
   * `.wh..wh..opq` entry, and overlay's own xattrs are left out.
   */
  overlayUpper?: boolean;
  /** Leaves out a path (and what is below it). */
  skip?: (rel: string, st: Deno.FileInfo) => boolean;
  /** Called for each path (relative, "" for the root) with what it is. */
  onEntry?: (path: string, kind: "whiteout" | "opaque" | "entry") => void;
}

/** Major and minor of a Linux dev_t. */
function devParts(rdev: number): [number, number] {
  return [
    ((rdev >> 8) & 0xfff) | ((rdev / 2 ** 32) & ~0xfff),
    (rdev & 0xff) | ((rdev >> 12) & ~0xff),
  ];
}

/** Writes the tree under `dir` as a tar archive into `sink`; returns bytes of file data. */
export function writeTree(dir: string, sink: Sink, opts: TreeOptions = {}): number {
  const links = new Map<string, string>();
  let bytes = 0;
  const buf = new Uint8Array(256 * 1024);
  const walk = (rel: string) => {
    const path = rel ? `${dir}/${rel}` : dir;
    const st = Deno.lstatSync(path);
    if (rel && opts.skip?.(rel, st)) return;
    const xattrs = listXattrs(path);
    const own: Record<string, Uint8Array> = {};
    let opaque = false;
    for (const [k, v] of Object.entries(xattrs)) {
      if (k.startsWith("trusted.overlay.")) {
        if (k === "trusted.overlay.opaque" && new TextDecoder().decode(v) === "y") opaque = true;
        if (opts.overlayUpper) continue;
      }
      if (k === "security.selinux") continue;
      own[k] = v;
    }
    const base = {
      mode: st.mode! & 0o7777,
      uid: st.uid!,
      gid: st.gid!,
      mtime: (st.mtime?.getTime() ?? 0) / 1000,
      size: 0,
      ...(Object.keys(own).length ? { xattrs: own } : {}),
    };
    const name = rel;
    if (st.isDirectory) {
      if (rel) sink(headerBlocks({ ...base, name: `${name}/`, type: "5" }));
      opts.onEntry?.(rel, "entry");
      if (opaque && opts.overlayUpper && rel) {
        sink(headerBlocks({ ...base, name: `${name}/.wh..wh..opq`, type: "0", mode: 0o644 }));
        opts.onEntry?.(rel, "opaque");
      }
      const names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
      for (const n of names) walk(rel ? `${rel}/${n}` : n);
      return;
    }
    if (!rel) throw new TsboxError(`${JSON.stringify(dir)} is not a directory`);
    if (st.isCharDevice && st.rdev === 0 && opts.overlayUpper) {
      const slash = rel.lastIndexOf("/");
      const wh = `${rel.slice(0, slash + 1)}.wh.${rel.slice(slash + 1)}`;
      sink(headerBlocks({ ...base, name: wh, type: "0", mode: 0o644, uid: 0, gid: 0 }));
      opts.onEntry?.(rel, "whiteout");
      return;
    }
    opts.onEntry?.(rel, "entry");
    if (st.nlink! > 1 && !st.isDirectory) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        sink(headerBlocks({ ...base, name, type: "1", linkname: first }));
        return;
      }
      links.set(key, name);
    }
    if (st.isSymlink) {
      sink(headerBlocks({ ...base, name, type: "2", linkname: Deno.readLinkSync(path) }));
    } else if (st.isFile) {
      const f = Deno.openSync(path);
      try {
        sink(headerBlocks({ ...base, name, type: "0", size: st.size }));
        let left = st.size;
        while (left > 0) {
          const n = f.readSync(buf.subarray(0, Math.min(buf.length, left)));
          if (n === null || n === 0) {
            throw new TsboxError(`${JSON.stringify(path)} shrank while read`);
          }
          sink(buf.slice(0, n));
          left -= n;
        }
        const pad = (BLOCK - (st.size % BLOCK)) % BLOCK;
        if (pad) sink(new Uint8Array(pad));
        bytes += st.size;
      } finally {
        f.close();
      }
    } else if (st.isCharDevice || st.isBlockDevice) {
      const [major, minor] = devParts(st.rdev!);
      sink(
        headerBlocks({
          ...base,
          name,
          type: st.isCharDevice ? "3" : "4",
          devmajor: major,
          devminor: minor,
        }),
      );
    } else if (st.isFifo) {
      sink(headerBlocks({ ...base, name, type: "6" }));
    } // sockets are not archived (as tar)
  };
  walk("");
  sink(new Uint8Array(BLOCK * 2));
  return bytes;
}
