// What a COPY or ADD reads: its sources resolved in the build context (or in
// an earlier stage's or an image's tree for COPY --from), with Docker's rules:
// a source is relative to the context's root and cannot leave it (`../x` is
// `x`; symlinks, absolute ones included, are resolved inside it by the
// kernel: openat2(2) RESOLVE_IN_ROOT); wildcards (Go's filepath.Match, one
// path component at a time) may match several paths, and one that matches
// nothing is an error; .dockerignore'd paths do not exist; a directory's
// contents are copied, not the directory; symlinks inside it stay symlinks.
// Also the content checksum of what was read, which a COPY's cache key
// covers (paths, types, modes, link targets, file contents; not times, as
// Docker). Reads only.

import { O, RESOLVE } from "../../../ffi/constants.ts";
import { Errno } from "../../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { goMatch, hasWildcards, type PatternMatcher } from "./dockerignore.ts";
import { cleanPath } from "./image_config.ts";
import { fileKind, lstat, readlinkAt, type Stat } from "./stat.ts";

/** A tree sources are read from. */
export interface SourceRoot {
  /** A path the tree is reachable through: a host directory, or /proc/self/fd/N. */
  base: string;
  /** An O_PATH fd of the tree's root (for RESOLVE_IN_ROOT). */
  fd: number;
  /** The build context's .dockerignore. */
  ignore?: PatternMatcher;
  /** Keep the files' owners (an image's tree); the build context's files are 0:0. */
  keepOwners: boolean;
}

/** One file, directory, link or node to copy. */
export interface SourceEntry {
  /** Path relative to its group's root ("" for the root itself). */
  rel: string;
  kind: ReturnType<typeof fileKind>;
  /** Permission bits (with setuid, setgid, sticky). */
  perm: number;
  uid: number;
  gid: number;
  size: number;
  mtime: { sec: bigint; nsec: bigint };
  /** Symlink target. */
  link?: string;
  rdev?: bigint;
  /** Where to read it. */
  path: string;
  /** "dev:ino" of a file with several links (hard links are kept). */
  inode?: string;
}

/** What one source names. */
export interface SourceGroup {
  /** The source as written, for messages. */
  source: string;
  /** The name a single file takes in a destination directory. */
  name: string;
  /** A directory (its contents are copied) or a single entry. */
  dir: boolean;
  /** For a directory, entries[0] is the directory itself. */
  entries: SourceEntry[];
}

const q = JSON.stringify;

function openInRoot(root: SourceRoot, rel: string, follow: boolean): number {
  const how = new BigUint64Array([
    BigInt(O.PATH | O.CLOEXEC | (follow ? 0 : O.NOFOLLOW)),
    0n,
    BigInt(RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS),
  ]);
  return sysRaw("openat2", [root.fd, rel || ".", new Uint8Array(how.buffer), 24]);
}

/** The real path of `rel` in the root (symlinks resolved inside it), or undefined when missing. */
export function resolveInRoot(root: SourceRoot, rel: string, follow = true): string | undefined {
  const fd = openInRoot(root, rel, follow);
  if (fd === -Errno.ENOENT || fd === -Errno.ENOTDIR || fd === -Errno.ELOOP) return undefined;
  if (fd < 0) throw new SyscallError("openat2", -fd, `${q(rel)} in the build context`);
  try {
    const rootReal = readlinkAt(-100, `/proc/self/fd/${root.fd}`);
    const real = readlinkAt(-100, `/proc/self/fd/${fd}`);
    if (real === rootReal) return "";
    const prefix = rootReal.endsWith("/") ? rootReal : `${rootReal}/`;
    if (!real.startsWith(prefix)) {
      throw new TsboxError(`${q(rel)} resolves outside the build context`);
    }
    return real.slice(prefix.length);
  } finally {
    sys("close", [fd]);
  }
}

function excluded(root: SourceRoot, rel: string): boolean {
  return !!root.ignore && rel !== "" && root.ignore.excludes(rel);
}

function entryOf(root: SourceRoot, rel: string, groupRel: string, st: Stat): SourceEntry {
  const kind = fileKind(st.mode);
  const path = rel ? `${root.base}/${rel}` : root.base;
  return {
    rel: groupRel,
    kind,
    perm: st.mode & 0o7777,
    uid: root.keepOwners ? st.uid : 0,
    gid: root.keepOwners ? st.gid : 0,
    size: kind === "file" ? st.size : 0,
    mtime: { sec: st.mtimeSec, nsec: st.mtimeNsec },
    path,
    ...(kind === "symlink" ? { link: readlinkAt(-100, path) } : {}),
    ...(kind === "char" || kind === "block" ? { rdev: st.rdev } : {}),
    ...(kind === "file" && st.nlink > 1 ? { inode: `${st.dev}:${st.ino}` } : {}),
  };
}

/** Lists a directory's entries below `rel`, skipping excluded paths; returns whether any was kept. */
function walk(
  root: SourceRoot,
  rel: string,
  groupRel: string,
  out: SourceEntry[],
  exclude: PatternMatcher | undefined,
): boolean {
  let names: string[];
  try {
    names = [...Deno.readDirSync(rel ? `${root.base}/${rel}` : root.base)].map((e) => e.name)
      .sort();
  } catch (e) {
    throw new TsboxError(`read directory ${q(rel || "/")}`, { cause: e });
  }
  let any = false;
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    const childGroup = groupRel ? `${groupRel}/${name}` : name;
    const st = lstat(`${root.base}/${childRel}`);
    if (!st) continue; // gone meanwhile
    const hidden = excluded(root, childRel) || (!!exclude && exclude.excludes(childGroup));
    const isDir = fileKind(st.mode) === "dir";
    if (hidden && !(isDir && (root.ignore?.hasExceptions || exclude?.hasExceptions))) continue;
    const e = entryOf(root, childRel, childGroup, st);
    if (isDir) {
      const at = out.length;
      out.push(e);
      const inner = walk(root, childRel, childGroup, out, exclude);
      if (hidden && !inner) out.splice(at);
      else any = true;
    } else if (!hidden) {
      out.push(e);
      any = true;
    }
  }
  return any;
}

/** The paths a wildcard source matches, one component at a time (sorted, real, not excluded). */
function expandWildcards(root: SourceRoot, pattern: string): string[] {
  let current = [""];
  const parts = pattern.split("/").filter(Boolean);
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of current) {
      if (!hasWildcards(part)) {
        const p = dir ? `${dir}/${part}` : part;
        if (lstat(`${root.base}/${p}`)) next.push(p);
        continue;
      }
      let names: string[];
      try {
        names = [...Deno.readDirSync(dir ? `${root.base}/${dir}` : root.base)].map((e) => e.name);
      } catch {
        continue; // not a directory
      }
      for (const n of names.sort()) {
        if (goMatch(part, n)) next.push(dir ? `${dir}/${n}` : n);
      }
    }
    current = last ? next : next.filter((p) => {
      const st = lstat(`${root.base}/${p}`);
      return st !== undefined && fileKind(st.mode) === "dir";
    });
  }
  return current.filter((p) => !excluded(root, p));
}

/**
 * Resolves the sources of one COPY/ADD in `root`. Throws Docker's errors:
 * "file not found in build context or excluded by .dockerignore" and "no
 * source files were specified".
 */
export function collectSources(
  root: SourceRoot,
  sources: readonly string[],
  opts: { kw: string; exclude?: PatternMatcher; allowEmptyWildcard?: boolean },
): SourceGroup[] {
  const groups: SourceGroup[] = [];
  for (const src of sources) {
    const rel = cleanPath(`/${src}`).slice(1);
    const matches = hasWildcards(rel) ? expandWildcards(root, rel) : [rel];
    for (const m of matches) {
      const real = excluded(root, m) ? undefined : resolveInRoot(root, m);
      if (real === undefined || excluded(root, real)) {
        throw new TsboxError(
          `${opts.kw} failed: file not found in build context or excluded by .dockerignore: stat ${src}: file does not exist`,
          { exitCode: 1 },
        );
      }
      const st = lstat(real ? `${root.base}/${real}` : root.base)!;
      const name = m.split("/").pop() || "";
      const entry = entryOf(root, real, "", st);
      if (entry.kind === "dir") {
        const entries = [entry];
        walk(root, real, "", entries, opts.exclude);
        groups.push({ source: src, name, dir: true, entries });
      } else groups.push({ source: src, name, dir: false, entries: [entry] });
    }
  }
  if (!groups.length && sources.length && !opts.allowEmptyWildcard) {
    throw new TsboxError(`${opts.kw} failed: no source files were specified`, { exitCode: 1 });
  }
  return groups;
}

/** sha256 of a file's content, read through syscalls. */
export async function hashFile(path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  const fd = sys("open", [path, O.RDONLY | O.NOFOLLOW | O.CLOEXEC], q(path));
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = sys("read", [fd, buf, buf.length], q(path));
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    sys("close", [fd]);
  }
  return h.digest("hex");
}

/**
 * The checksum of what a COPY/ADD reads: each group's entries (path, type,
 * mode, owner when kept, link target, device, content). Times are left out,
 * as in Docker's builder.
 */
export async function checksumGroups(
  groups: readonly SourceGroup[],
  extra: readonly { name: string; data: string }[] = [],
): Promise<string> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  for (const g of groups) {
    h.update(`group ${q(g.source)} ${g.dir ? "dir" : "entry"} ${q(g.name)}\n`);
    for (const e of g.entries) {
      const content = e.kind === "file" ? await hashFile(e.path) : "";
      h.update(
        `${q(e.rel)} ${e.kind} ${e.perm.toString(8)} ${e.uid}:${e.gid} ${q(e.link ?? "")} ${
          e.rdev ?? ""
        } ${content}\n`,
      );
    }
  }
  for (const x of extra) h.update(`inline ${q(x.name)} ${q(x.data)}\n`);
  return h.digest("hex");
}
