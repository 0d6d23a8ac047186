// Root tests of src/image/extract.ts against the real kernel: every entry type
// with owners, modes, times and xattrs, and the archive attacks `tsbox import`
// must survive (paths with "..", absolute paths, symlink-then-write, hardlinks
// out of the root, climbing symlinks). Each test works in its own temp dir:
// <base>/root is the target and <base>/outside a sentinel that must stay empty.

import assert from "node:assert/strict";
import { sys } from "../ffi/syscall.ts";
import { formatError } from "../src/errors.ts";
import { extractTar } from "../src/image/extract.ts";
import { busyboxTarball, host, requires } from "./lib/harness.ts";

const enc = new TextEncoder();

/** One archive entry for the small ustar/pax encoder below. */
interface E {
  name: string;
  /** Tar type flag: 0 file, 1 hardlink, 2 symlink, 3 char, 4 block, 5 dir, 6 fifo. */
  type?: string;
  data?: string | Uint8Array;
  link?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  major?: number;
  minor?: number;
  xattrs?: Record<string, Uint8Array>;
}

function header(e: E, size: number): Uint8Array {
  const b = new Uint8Array(512);
  const put = (off: number, s: string) => b.set(enc.encode(s), off);
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, "0");
  put(0, e.name);
  put(100, oct(e.mode ?? (e.type === "5" ? 0o755 : 0o644), 8));
  put(108, oct(e.uid ?? 0, 8));
  put(116, oct(e.gid ?? 0, 8));
  put(124, oct(size, 12));
  put(136, oct(e.mtime ?? 1_600_000_000, 12));
  put(156, e.type ?? "0");
  put(157, e.link ?? "");
  put(257, "ustar\u000000");
  put(329, oct(e.major ?? 0, 8));
  put(337, oct(e.minor ?? 0, 8));
  b.fill(0x20, 148, 156);
  put(148, oct(b.reduce((a, x) => a + x, 0), 7));
  return b;
}

function padded(data: Uint8Array): Uint8Array[] {
  return [data, new Uint8Array((512 - (data.length % 512)) % 512)];
}

/** A tar archive of `entries`; xattrs go in a pax header before their entry. */
function tarOf(...entries: E[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.xattrs) {
      const records = Object.entries(e.xattrs).map(([k, v]) => {
        const rest = enc.encode(` SCHILY.xattr.${k}=`).length + v.length + 1;
        let len = rest + 1;
        while (String(len).length + rest !== len) len++;
        return new Uint8Array([...enc.encode(`${len} SCHILY.xattr.${k}=`), ...v, 0x0a]);
      });
      const pax = new Uint8Array(records.flatMap((r) => [...r]));
      parts.push(header({ name: "PaxHeader", type: "x" }, pax.length), ...padded(pax));
    }
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array(0);
    parts.push(header(e, data.length), ...padded(data));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

function streamOf(bytes: Uint8Array, chunk = 4096): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += chunk) chunks.push(bytes.slice(off, off + chunk));
  return ReadableStream.from(chunks);
}

function openFds(under: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
      if (target.startsWith(under)) out.push(target);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

function listTree(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    out.push(prefix + e.name);
    if (e.isDirectory) out.push(...listTree(`${dir}/${e.name}`, `${prefix}${e.name}/`));
  }
  return out.sort();
}

/** Runs `fn(root, outside)` in a fresh base dir; checks the sentinel and open fds after. */
async function inTemp(fn: (root: string, outside: string) => Promise<void>): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "tsbox-extract-" });
  try {
    await Deno.mkdir(`${base}/root`);
    await Deno.mkdir(`${base}/outside`);
    await fn(`${base}/root`, `${base}/outside`);
    assert.deepEqual(listTree(`${base}/outside`), [], "nothing is written outside the root");
    assert.deepEqual(openFds(base), [], "no file descriptor is left open");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

function perm(path: string): number {
  return Deno.lstatSync(path).mode! & 0o7777;
}

function lgetxattr(path: string, name: string): Uint8Array {
  const buf = new Uint8Array(256);
  return buf.slice(0, sys("lgetxattr", [path, name, buf, buf.length]));
}

const T = 1_700_000_000;
/** security.capability v2 with cap_net_raw permitted and effective. */
const CAP_NET_RAW = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

Deno.test({
  name: "extractTar writes every entry type with its owner, mode, time and xattrs",
  ...requires("root"),
  fn: () =>
    inTemp(async (root) => {
      const large = new Uint8Array(1024 * 1024 + 3).map((_, i) => (i * 31) >> 3);
      const tar = tarOf(
        { name: "./", type: "5", mode: 0o755, mtime: T },
        { name: "./bin/", type: "5", mtime: T + 1 },
        { name: "./bin/busybox", mode: 0o4755, data: "BUSYBOX", mtime: T + 2 },
        { name: "./bin/sh", type: "2", link: "/bin/busybox", mode: 0o777, uid: 7, mtime: T + 3 },
        { name: "./bin/ln", type: "1", link: "./bin/busybox" },
        { name: "./usr/bin/wall", mode: 0o2755, gid: 5, data: "w" },
        { name: "./dev/null", type: "3", mode: 0o666, major: 1, minor: 3, mtime: T + 4 },
        { name: "./dev/loop0", type: "4", mode: 0o660, gid: 6, major: 7, minor: 0 },
        { name: "./run/fifo", type: "6", mode: 0o640, uid: 1000, gid: 1000 },
        { name: "./home/user/.profile", mode: 0o600, uid: 1000, gid: 1000, data: "export A=1\n" },
        { name: "./home/user/", type: "5", mode: 0o700, uid: 1000, gid: 1000, mtime: T + 5 },
        { name: "./tmp/", type: "5", mode: 0o1777 },
        {
          name: "./ping",
          mode: 0o755,
          data: "p",
          xattrs: { "security.capability": CAP_NET_RAW, "user.note": enc.encode("hi") },
        },
        { name: "./large", data: large, mtime: T + 6 },
      );
      const res = await extractTar(streamOf(tar, 1000), root);
      assert.deepEqual(res, { entries: 14, bytes: 7 + 1 + 11 + 1 + large.length });

      const st = (p: string) => Deno.lstatSync(`${root}/${p}`);
      assert.deepEqual([perm(root), st(".").mtime?.getTime()], [0o755, T * 1000]);
      assert.deepEqual([perm(`${root}/bin/busybox`), st("bin/busybox").nlink], [0o4755, 2]);
      assert.equal(await Deno.readTextFile(`${root}/bin/ln`), "BUSYBOX");
      assert.equal(st("bin").mtime?.getTime(), (T + 1) * 1000, "dir mtime set after its children");
      assert.ok(st("bin/sh").isSymlink);
      assert.equal(await Deno.readLink(`${root}/bin/sh`), "/bin/busybox");
      assert.deepEqual([st("bin/sh").uid, st("bin/sh").mtime?.getTime()], [7, (T + 3) * 1000]);
      assert.deepEqual([perm(`${root}/usr/bin/wall`), st("usr/bin/wall").gid], [0o2755, 5]);
      assert.deepEqual([perm(`${root}/usr`), st("usr").uid], [0o755, 0], "implicit parents");
      assert.ok(st("dev/null").isCharDevice);
      assert.deepEqual([st("dev/null").rdev, perm(`${root}/dev/null`)], [0x103, 0o666]);
      assert.equal(st("dev/null").mtime?.getTime(), (T + 4) * 1000);
      assert.ok(st("dev/loop0").isBlockDevice);
      assert.deepEqual([st("dev/loop0").rdev, st("dev/loop0").gid], [0x700, 6]);
      assert.ok(st("run/fifo").isFifo);
      assert.deepEqual([perm(`${root}/run/fifo`), st("run/fifo").uid], [0o640, 1000]);
      const home = st("home/user");
      assert.deepEqual([perm(`${root}/home/user`), home.uid, home.gid], [0o700, 1000, 1000]);
      assert.equal(home.mtime?.getTime(), (T + 5) * 1000, "a dir listed after its children");
      assert.equal(perm(`${root}/tmp`), 0o1777);
      assert.deepEqual(lgetxattr(`${root}/ping`, "security.capability"), CAP_NET_RAW);
      assert.deepEqual(lgetxattr(`${root}/ping`, "user.note"), enc.encode("hi"));
      assert.deepEqual(await Deno.readFile(`${root}/large`), large);
      assert.equal(st("large").mtime?.getTime(), (T + 6) * 1000);
    }),
});

Deno.test({
  name: "extractTar adds idShift to owners, implicit parents included",
  ...requires("root"),
  fn: () =>
    inTemp(async (root) => {
      const tar = tarOf(
        { name: "a/b/file", uid: 0, gid: 0, data: "x" },
        { name: "a/b/link", type: "2", link: "file", uid: 5, gid: 6 },
      );
      await extractTar(streamOf(tar), root, { idShift: { uid: 100000, gid: 200000 } });
      const st = (p: string) => Deno.lstatSync(`${root}/${p}`);
      assert.deepEqual([st("a").uid, st("a").gid, st("a/b").uid], [100000, 200000, 100000]);
      assert.deepEqual([st("a/b/file").uid, st("a/b/file").gid], [100000, 200000]);
      assert.deepEqual([st("a/b/link").uid, st("a/b/link").gid], [100005, 200006]);
    }),
});

Deno.test({
  name: "extractTar updates an existing directory and replaces other existing names",
  ...requires("root"),
  fn: () =>
    inTemp(async (root, outside) => {
      await Deno.mkdir(`${root}/etc`, { mode: 0o700 });
      await Deno.writeTextFile(`${root}/etc/kept`, "kept");
      await Deno.symlink(`${outside}/written-through`, `${root}/victim`);
      await Deno.mkdir(`${root}/emptydir`);
      const tar = tarOf(
        { name: "etc/", type: "5", mode: 0o755, uid: 3, mtime: T },
        { name: "victim", data: "replaced" },
        { name: "emptydir", type: "2", link: "/etc" },
        { name: "file", data: "old" },
        { name: "file", data: "new" },
      );
      await extractTar(streamOf(tar), root);
      assert.deepEqual([perm(`${root}/etc`), Deno.lstatSync(`${root}/etc`).uid], [0o755, 3]);
      assert.equal(await Deno.readTextFile(`${root}/etc/kept`), "kept");
      assert.ok(Deno.lstatSync(`${root}/victim`).isFile, "the symlink was replaced, not followed");
      assert.equal(await Deno.readTextFile(`${root}/victim`), "replaced");
      assert.equal(await Deno.readLink(`${root}/emptydir`), "/etc");
      assert.equal(await Deno.readTextFile(`${root}/file`), "new");
    }),
});

Deno.test({
  name: "extractTar keeps writes through an absolute symlink inside the root",
  ...requires("root"),
  fn: () =>
    inTemp(async (root, outside) => {
      // link -> <outside> is allowed (absolute), but means <root><outside> in the container.
      const inside = tarOf(
        { name: `.${outside}/`, type: "5" },
        { name: "link", type: "2", link: outside },
        { name: "link/pwned", data: "x" },
        { name: "up", type: "2", link: "/" },
        { name: "up/etc/passwd-pwned", data: "y" },
      );
      await extractTar(streamOf(inside), root);
      assert.equal(await Deno.readTextFile(`${root}${outside}/pwned`), "x");
      assert.equal(await Deno.readTextFile(`${root}/etc/passwd-pwned`), "y");
      assert.throws(() => Deno.lstatSync("/etc/passwd-pwned"));
    }),
});

Deno.test({
  name: "extractTar refuses a write through a dangling symlink to outside the root",
  ...requires("root"),
  fn: () =>
    inTemp(async (root, outside) => {
      const tar = tarOf(
        { name: "link", type: "2", link: outside },
        { name: "link/pwned", data: "x" },
      );
      await assert.rejects(
        extractTar(streamOf(tar), root),
        /refusing tar entry "link\/pwned": parent "link" is a dangling symlink/,
      );
      assert.deepEqual(listTree(root), ["link"]);
    }),
});

/** Each archive: a good entry, the bad one, another good one; only the first may be written. */
const REFUSED: [string, E, RegExp][] = [
  [
    "a path with ..",
    { name: "../outside/x", data: "x" },
    /"\.\.\/outside\/x": path leaves the root/,
  ],
  ["an absolute path", { name: "/etc/tsbox-x", data: "x" }, /"\/etc\/tsbox-x": path is absolute/],
  ["a .. in the middle", { name: "a/../../outside/x" }, /path leaves the root/],
  [
    "a hardlink out of the root",
    { name: "h", type: "1", link: "../../etc/passwd" },
    /"h": hardlink target "\.\.\/\.\.\/etc\/passwd" leaves the root/,
  ],
  [
    "an absolute hardlink",
    { name: "h", type: "1", link: "/etc/passwd" },
    /hardlink target "\/etc\/passwd" leaves the root/,
  ],
];

for (const [what, bad, message] of REFUSED) {
  Deno.test({
    name: `extractTar refuses ${what} and stops there`,
    ...requires("root"),
    fn: () =>
      inTemp(async (root) => {
        const tar = tarOf({ name: "first", data: "1" }, bad, { name: "after", data: "2" });
        await assert.rejects(extractTar(streamOf(tar), root), (e: Error) => {
          assert.equal(e.name, "TsboxError");
          assert.match(e.message, message);
          return true;
        });
        assert.deepEqual(listTree(root), ["first"]);
      }),
  });
}

Deno.test({
  name: "extractTar stores climbing symlinks as they are and never follows them",
  ...requires("root"),
  fn: () =>
    inTemp(async (root) => {
      const tar = tarOf(
        { name: "etc", type: "5" },
        { name: "a/b", type: "2", link: "../../../etc" },
        { name: "s", type: "2", link: "../outside" },
        { name: "a/b/x", data: "through a climbing link: stays in the root" },
      );
      await extractTar(streamOf(tar), root);
      assert.equal(Deno.readLinkSync(`${root}/a/b`), "../../../etc");
      assert.equal(Deno.readLinkSync(`${root}/s`), "../outside");
      assert.equal(
        Deno.readTextFileSync(`${root}/etc/x`),
        "through a climbing link: stays in the root",
      );
    }),
});

Deno.test({
  name: "extractTar resolves writes through a climbing symlink inside the root",
  ...requires("root"),
  fn: () =>
    inTemp(async (root, outside) => {
      // s -> ../outside climbs to the sentinel on the host, but "/outside" in the root.
      const dangling = tarOf(
        { name: "s", type: "2", link: "../outside" },
        { name: "s/pwned", data: "x" },
      );
      await assert.rejects(
        extractTar(streamOf(dangling), root),
        /refusing tar entry "s\/pwned": parent "s" is a dangling symlink/,
      );
      // With /etc in the root, a/b -> ../../../etc is the root's /etc.
      const inside = tarOf(
        { name: "etc/", type: "5" },
        { name: "a/b", type: "2", link: "../../../etc" },
        { name: "a/b/passwd-pwned", data: "y" },
        { name: "up", type: "2", link: "../../../../.." },
        { name: "up/etc/shadow-pwned", data: "z" },
      );
      await extractTar(streamOf(inside), root);
      assert.equal(await Deno.readTextFile(`${root}/etc/passwd-pwned`), "y");
      assert.equal(await Deno.readTextFile(`${root}/etc/shadow-pwned`), "z");
      assert.throws(() => Deno.lstatSync(`${outside}/pwned`));
      assert.throws(() => Deno.lstatSync("/etc/passwd-pwned"));
      assert.throws(() => Deno.lstatSync("/etc/shadow-pwned"));
    }),
});

Deno.test({
  name: "extractTar resolves a hardlink target through symlinks inside the root only",
  ...requires("root"),
  fn: () =>
    inTemp(async (root) => {
      const hostLinks = Deno.statSync("/etc/passwd").nlink;
      const escape = tarOf(
        { name: "l", type: "2", link: "/etc" },
        { name: "h", type: "1", link: "l/passwd" },
      );
      await assert.rejects(
        extractTar(streamOf(escape), root),
        /extract tar entry "h": hardlink target "l\/passwd" is not in the root/,
      );
      assert.equal(Deno.statSync("/etc/passwd").nlink, hostLinks, "host /etc/passwd not linked");
      const inside = tarOf(
        { name: "etc/passwd", data: "root:x:0:0::/root:/bin/sh\n" },
        { name: "h", type: "1", link: "l/passwd" },
      );
      await extractTar(streamOf(inside), root);
      assert.equal(Deno.statSync(`${root}/etc/passwd`).nlink, 2);
      assert.equal(Deno.statSync(`${root}/h`).ino, Deno.statSync(`${root}/etc/passwd`).ino);
    }),
});

Deno.test({
  name: "extractTar reports a truncated archive and a bad id shift",
  ...requires("root"),
  fn: () =>
    inTemp(async (root) => {
      const tar = tarOf({ name: "f", data: "x".repeat(5000) }).subarray(0, 2048);
      await assert.rejects(
        extractTar(streamOf(tar), root),
        (e: Error) => {
          assert.equal(
            formatError(e),
            'extract tar entry "f": tar archive is truncated inside tar entry "f" at byte 0',
          );
          return true;
        },
      );
      const idShift = { uid: -1, gid: 0 };
      await assert.rejects(extractTar(streamOf(tar), root, { idShift }), /bad id shift -1:0/);
    }),
});

Deno.test({
  name: "extractTar reads a gzip-compressed archive from a file",
  ...requires("root"),
  fn: () =>
    inTemp(async (root, outside) => {
      const gz = streamOf(tarOf({ name: "dir/f", data: "gz" })).pipeThrough(
        new CompressionStream("gzip") as unknown as TransformStream<Uint8Array>,
      );
      const path = `${outside}/../a.tar.gz`;
      await Deno.writeFile(path, gz);
      const res = await extractTar(await Deno.open(path), root);
      assert.deepEqual(res, { entries: 1, bytes: 2 });
      assert.equal(await Deno.readTextFile(`${root}/dir/f`), "gz");
    }),
});

Deno.test({
  name: "extractTar unpacks the busybox image as GNU tar does",
  ...requires("root", "busybox"),
  sanitizeResources: false, // busyboxTarball may run the build script
  fn: () =>
    inTemp(async (root, outside) => {
      const tarball = await busyboxTarball();
      const res = await extractTar(await Deno.open(tarball), root);
      const listed = (await host("tar", ["-tf", tarball])).stdout.trim().split("\n");
      assert.equal(res.entries, listed.length);
      assert.equal((await host(`${root}/bin/busybox`, ["--help"])).code, 0);
      for (const name of ["bin/sh", "bin/ls", "usr/bin/awk", "sbin/ifconfig"]) {
        assert.equal(await Deno.readLink(`${root}/${name}`), "/bin/busybox", name);
      }
      assert.deepEqual([perm(`${root}/tmp`), perm(`${root}/root`)], [0o1777, 0o700]);
      assert.match(
        await Deno.readTextFile(`${root}/etc/passwd`),
        /^root:x:0:0:root:\/root:\/bin\/sh$/m,
      );
      assert.match(await Deno.readTextFile(`${root}/etc/os-release`), /NAME="tsbox busybox"/);

      // The same tree as GNU tar makes (type, mode, owner, mtime, link target, size).
      const ref = `${outside}/../ref`;
      await Deno.mkdir(ref);
      await host("tar", ["--numeric-owner", "-xpf", tarball, "-C", ref]);
      const describe = (dir: string) =>
        listTree(dir).map((p) => {
          const s = Deno.lstatSync(`${dir}/${p}`);
          const link = s.isSymlink ? Deno.readLinkSync(`${dir}/${p}`) : "";
          return `${p} ${
            s.mode?.toString(8)
          } ${s.uid}:${s.gid} ${s.mtime?.getTime()} ${s.size} ${link}`;
        });
      assert.deepEqual(describe(root), describe(ref));
      assert.deepEqual(
        [perm(root), Deno.lstatSync(root).mtime?.getTime()],
        [perm(ref), Deno.lstatSync(ref).mtime?.getTime()],
      );
    }),
});
