// The steps that write the new layer directly, without a container: WORKDIR
// (makes the directory, owned by the USER) and COPY/ADD. The image's tree is
// a detached overlay (src/mount/detached.ts) of its layers with a fresh upper
// dir: writes go through it (copy.ts), the kernel puts the changes, copy-ups
// and whiteouts in the upper dir, and the upper dir becomes the step's layer
// (none when nothing changed). ADD also downloads URLs (mode 0600, the
// server's Last-Modified time, --checksum verified) and unpacks local tar
// archives (plain or gzip) with the safe extractor. Also resolves --chown
// names and the USER in the image's own /etc/passwd and /etc/group.

import { O } from "../../../ffi/constants.ts";
import { sys } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { openDetachedOverlay } from "../../mount/detached.ts";
import { mkdirInRoot, openInRoot, type Owner } from "../../mount/securejoin.ts";
import { resolveUser } from "../../spec/user.ts";
import { looksLikeArchive } from "./context.ts";
import { type InlineFile, writeGroups } from "./copy.ts";
import type { SourceGroup } from "./sources.ts";
import type { BuildStore, StoreImage, StoreLayer } from "./store_port.ts";

const q = JSON.stringify;

/** The layer directories of an image, or one empty directory for scratch. */
function lowers(store: BuildStore, img: StoreImage | undefined, scratch: () => string): string[] {
  const dirs = img ? store.lowerDirs(img) : [];
  return dirs.length ? dirs : [scratch()];
}

/**
 * Runs `write` on a writable view of `parent`'s tree (its root fd) and
 * returns the layer of what changed, or null. Requires CAP_SYS_ADMIN.
 */
export async function changeTree(
  store: BuildStore,
  parent: StoreImage | undefined,
  write: (rootFd: number) => Promise<void> | void,
): Promise<StoreLayer | null> {
  const made: string[] = [];
  const temp = (what: string) => {
    const d = store.tempDir(what);
    made.push(d);
    Deno.chmodSync(d, 0o755);
    return d;
  };
  const upper = temp("upper");
  const work = temp("work");
  let committed = false;
  try {
    const fd = openDetachedOverlay({
      lower: lowers(store, parent, () => temp("scratch")),
      upper: { dir: upper, work },
    });
    try {
      await write(fd);
    } finally {
      sys("close", [fd]);
    }
    const layer = await store.commitUpper(upper, parent?.layers.at(-1)?.chainId ?? null);
    committed = true;
    return layer;
  } finally {
    for (const d of made) {
      if (d === upper && committed) continue;
      try {
        Deno.removeSync(d, { recursive: true });
      } catch { /* gone */ }
    }
  }
}

/** Reads a small file of the tree (e.g. etc/passwd) through its root fd; "" when missing. */
export function readInTree(rootFd: number, path: string): string {
  let fd: number;
  try {
    fd = openInRoot(rootFd, path, O.RDONLY);
  } catch {
    return "";
  }
  try {
    return Deno.readTextFileSync(`/proc/self/fd/${fd}`);
  } catch {
    return "";
  } finally {
    sys("close", [fd]);
  }
}

/**
 * The owner a --chown value names, with Docker's rule: a user without a
 * group (or a uid without a gid) uses the same number as the gid.
 */
export function chownOwner(spec: string, passwd: string, group: string): Owner {
  const [u = "", g] = spec.split(":", 2) as [string, string | undefined];
  const lookup = (text: string, name: string, what: string): number => {
    for (const line of text.split("\n")) {
      const f = line.split(":");
      if (f[0] === name && /^\d+$/.test(f[2] ?? "")) return Number(f[2]);
    }
    throw new TsboxError(
      `unable to convert uid/gid chown string to host mapping: can't find ${what} for ${name}: no such ${
        what === "uid" ? "user" : "group"
      }: ${name}`,
      { exitCode: 1 },
    );
  };
  const uid = /^\d+$/.test(u) ? Number(u) : lookup(passwd, u, "uid");
  const gid = g === undefined || g === ""
    ? uid
    : /^\d+$/.test(g)
    ? Number(g)
    : lookup(group, g, "gid");
  return { uid, gid };
}

/** WORKDIR: makes the directory (0755, owned by the USER when one is set). */
export function workdirWriter(dir: string, user: string | undefined): (rootFd: number) => void {
  return (rootFd) => {
    let owner: Owner | undefined;
    if (user) {
      const u = resolveUser(
        user,
        readInTree(rootFd, "/etc/passwd"),
        readInTree(rootFd, "/etc/group"),
      );
      owner = { uid: u.uid, gid: u.gid };
    }
    sys("close", [mkdirInRoot(rootFd, dir, owner)]);
  };
}

/** What one COPY/ADD writes. */
export interface CopyWrite {
  dest: string;
  groups: SourceGroup[];
  /** Groups that are local archives to unpack (ADD). */
  archives: SourceGroup[];
  inline: InlineFile[];
  chown?: string;
  chmod?: number;
}

/** COPY/ADD: writes the sources, unpacks ADD's archives. */
export function copyWriter(w: CopyWrite): (rootFd: number) => Promise<void> {
  return async (rootFd) => {
    const owner = w.chown === undefined
      ? undefined
      : chownOwner(w.chown, readInTree(rootFd, "/etc/passwd"), readInTree(rootFd, "/etc/group"));
    if (w.groups.length || w.inline.length) {
      writeGroups(rootFd, w.dest, w.groups, w.inline, {
        ...(owner ? { chown: owner } : {}),
        ...(w.chmod !== undefined ? { chmod: w.chmod } : {}),
      });
    }
    if (w.archives.length) {
      const dir = mkdirInRoot(rootFd, w.dest, owner);
      try {
        const { extractTar } = await import("../extract.ts");
        for (const a of w.archives) {
          try {
            await extractTar(await Deno.open(a.entries[0]!.path), `/proc/self/fd/${dir}`);
          } catch (e) {
            throw new TsboxError(`ADD ${q(a.source)}: unpack into ${q(w.dest)}`, {
              cause: e,
              exitCode: 1,
            });
          }
        }
      } finally {
        sys("close", [dir]);
      }
    }
  };
}

/**
 * Whether a file of the context is a tar archive ADD unpacks: plain tar, or
 * gzip whose content is tar (Docker's rule: anything else is copied as it
 * is). xz and bzip2 archives, which Docker also unpacks, are refused.
 */
export async function isLocalArchive(path: string): Promise<boolean> {
  const f = await Deno.open(path);
  let head: Uint8Array;
  try {
    const buf = new Uint8Array(512);
    const n = await f.read(buf);
    head = buf.subarray(0, n ?? 0);
  } finally {
    f.close();
  }
  const magic = (bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (magic([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) || magic([0x42, 0x5a, 0x68])) {
    throw new TsboxError(
      `ADD ${
        q(path.split("/").pop())
      }: xz and bzip2 archives are not unpacked by tsbox build (gzip or plain tar are): decompress it first, or COPY it`,
      { exitCode: 1 },
    );
  }
  if (!magic([0x1f, 0x8b])) return looksLikeArchive(head);
  // gzip: unpacked only when what it holds is a tar archive.
  const plain = (await Deno.open(path)).readable.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  const reader = plain.getReader();
  const got = new Uint8Array(512);
  let n = 0;
  try {
    while (n < got.length) {
      const r = await reader.read();
      if (r.done) break;
      const take = r.value.subarray(0, got.length - n);
      got.set(take, n);
      n += take.length;
    }
  } catch {
    return false; // not valid gzip: a file like any other
  } finally {
    await reader.cancel().catch(() => {});
  }
  return looksLikeArchive(got.subarray(0, n));
}

/**
 * Downloads an ADD URL into `dir`: the file is named after the URL's last
 * path component, mode 0600, with the server's Last-Modified time; its
 * sha256 must be `checksum` when given. Returns the group to copy.
 */
export async function download(url: string, dir: string, checksum?: string): Promise<SourceGroup> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.split("/").filter(Boolean).pop() ?? "");
  if (!name) throw new TsboxError(`cannot determine filename from url: ${url}`, { exitCode: 1 });
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new TsboxError(`ADD: download ${url}`, { cause: e, exitCode: 1 });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new TsboxError(`ADD: download ${url}: ${res.status} ${res.statusText}`, { exitCode: 1 });
  }
  const path = `${dir}/${name}`;
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  const f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let size = 0;
  try {
    for await (const c of res.body ?? ReadableStream.from([])) {
      h.update(c);
      size += c.length;
      for (let off = 0; off < c.length;) off += await f.write(c.subarray(off));
    }
  } finally {
    f.close();
  }
  const digest = `sha256:${h.digest("hex")}`;
  if (checksum !== undefined && digest !== checksum) {
    throw new TsboxError(`ADD ${url}: digest mismatch ${digest}: ${checksum}`, { exitCode: 1 });
  }
  const lm = res.headers.get("last-modified");
  const ms = lm ? Date.parse(lm) : NaN;
  const t = Number.isNaN(ms) ? Date.now() : ms;
  return {
    source: url,
    name,
    dir: false,
    entries: [{
      rel: "",
      kind: "file",
      perm: 0o600,
      uid: 0,
      gid: 0,
      size,
      mtime: { sec: BigInt(Math.floor(t / 1000)), nsec: BigInt((t % 1000) * 1_000_000) },
      path,
    }],
  };
}
