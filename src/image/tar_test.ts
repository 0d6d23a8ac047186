// Unit tests of the tar reader: archives are built byte by byte by the small
// encoder below (ustar, pax, GNU long names, base-256), and cross-checked
// against GNU tar's output when /usr/bin/tar is present.

import assert from "node:assert/strict";
import { openArchive, parseNumber, parsePax, readTar, type TarEntry } from "./tar.ts";

const enc = new TextEncoder();

/** Fields of one header block the encoder writes. */
interface Header {
  name: string;
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number | bigint;
  mtime?: number | bigint;
  linkname?: string;
  prefix?: string;
  devmajor?: number;
  devminor?: number;
  /** "ustar" (POSIX, default), "gnu" ("ustar  \0") or "v7" (no magic). */
  format?: "ustar" | "gnu" | "v7";
}

function put(block: Uint8Array, off: number, len: number, value: string | Uint8Array): void {
  const bytes = typeof value === "string" ? enc.encode(value) : value;
  assert.ok(bytes.length <= len, `field too long: ${value}`);
  block.set(bytes, off);
}

function octal(n: number | bigint, len: number): string {
  return n.toString(8).padStart(len - 1, "0") + "\0";
}

/** GNU base-256: high bit set, big-endian two's complement in the remaining bits. */
function base256(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = BigInt.asUintN(len * 8, n);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0] = n < 0n ? 0xff : out[0]! | 0x80;
  return out;
}

function num(n: number | bigint, len: number): string | Uint8Array {
  const max = 8n ** BigInt(len - 1);
  return BigInt(n) >= max || BigInt(n) < 0n ? base256(BigInt(n), len) : octal(n, len);
}

function header(h: Header): Uint8Array {
  const b = new Uint8Array(512);
  put(b, 0, 100, h.name);
  put(b, 100, 8, octal(h.mode ?? 0o644, 8));
  put(b, 108, 8, num(h.uid ?? 0, 8));
  put(b, 116, 8, num(h.gid ?? 0, 8));
  put(b, 124, 12, num(h.size ?? 0, 12));
  put(b, 136, 12, num(h.mtime ?? 1_700_000_000, 12));
  put(b, 156, 1, h.type ?? "0");
  put(b, 157, 100, h.linkname ?? "");
  const format = h.format ?? "ustar";
  if (format === "ustar") put(b, 257, 8, "ustar\u000000");
  if (format === "gnu") put(b, 257, 8, "ustar  \0");
  if (format !== "v7") {
    put(b, 329, 8, octal(h.devmajor ?? 0, 8));
    put(b, 337, 8, octal(h.devminor ?? 0, 8));
    put(b, 345, 155, h.prefix ?? "");
  }
  return seal(b);
}

/** Writes the checksum of a header block (the checksum field counts as spaces). */
function seal(b: Uint8Array): Uint8Array {
  b.fill(0x20, 148, 156);
  const sum = b.reduce((a, x) => a + x, 0);
  put(b, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return b;
}

function pad(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One entry: header plus padded data. */
function entry(h: Header, data: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const body = typeof data === "string" ? enc.encode(data) : data;
  return concat(header({ size: body.length, ...h }), pad(body));
}

/** pax records, each `"<len> <key>=<value>\n"` with len counting itself. */
function paxData(records: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(records)) {
    const value = typeof v === "string" ? enc.encode(v) : v;
    const rest = enc.encode(` ${k}=`).length + value.length + 1;
    let len = rest + 1;
    while (String(len).length + rest !== len) len++;
    parts.push(enc.encode(`${len} ${k}=`), value, enc.encode("\n"));
  }
  return concat(...parts);
}

function pax(records: Record<string, string | Uint8Array>, type = "x"): Uint8Array {
  return entry({ name: "PaxHeaders/x", type }, paxData(records));
}

const END = new Uint8Array(1024);

/** A stream of `bytes` in chunks of `chunk` bytes. */
function streamOf(bytes: Uint8Array, chunk = 4096): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(ctl) {
      if (off >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(off, off + chunk));
      off += chunk;
    },
  });
}

type Parsed = Omit<TarEntry, "body"> & { data: string };

async function parse(bytes: Uint8Array, chunk?: number): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for await (const e of readTar(streamOf(bytes, chunk))) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body) parts.push(c);
    const { body: _, ...meta } = e;
    out.push({ ...meta, data: new TextDecoder().decode(concat(...parts)) });
  }
  return out;
}

Deno.test("readTar parses every ustar entry type field by field", async () => {
  const tar = concat(
    entry({ name: "./", type: "5", mode: 0o755 }),
    entry({ name: "./bin/sh", mode: 0o4755, uid: 1000, gid: 100, mtime: 42 }, "#!hello"),
    entry({ name: "./bin/ls", type: "2", linkname: "/bin/busybox", mode: 0o777 }),
    entry({ name: "./bin/ln", type: "1", linkname: "./bin/sh" }),
    entry({ name: "./dev/null", type: "3", mode: 0o666, devmajor: 1, devminor: 3 }),
    entry({ name: "./dev/sda", type: "4", mode: 0o660, devmajor: 8, devminor: 0 }),
    entry({ name: "./run/fifo", type: "6", mode: 0o600 }),
    entry({ name: "./contig", type: "7" }, "c"),
    END,
  );
  const got = await parse(tar);
  assert.deepEqual(got.map((e) => [e.path, e.type, e.mode, e.linkname, e.data]), [
    ["./", "dir", 0o755, "", ""],
    ["./bin/sh", "file", 0o4755, "", "#!hello"],
    ["./bin/ls", "symlink", 0o777, "/bin/busybox", ""],
    ["./bin/ln", "hardlink", 0o644, "./bin/sh", ""],
    ["./dev/null", "char", 0o666, "", ""],
    ["./dev/sda", "block", 0o660, "", ""],
    ["./run/fifo", "fifo", 0o600, "", ""],
    ["./contig", "file", 0o644, "", "c"],
  ]);
  const sh = got[1]!;
  assert.deepEqual([sh.uid, sh.gid, sh.mtime, sh.size, sh.offset], [1000, 100, 42, 7, 512]);
  assert.deepEqual([got[4]!.devmajor, got[4]!.devminor], [1, 3]);
  assert.equal(got[2]!.offset, 512 * 3);
});

Deno.test("readTar joins the ustar prefix and name of paths longer than 100 bytes", async () => {
  const dir = "d".repeat(120);
  const tar = concat(entry({ name: "f".repeat(100), prefix: dir }, "x"), END);
  const [e] = await parse(tar);
  assert.equal(e!.path, `${dir}/${"f".repeat(100)}`);
});

Deno.test("readTar ignores the prefix field of GNU and v7 headers", async () => {
  const tar = concat(
    entry({ name: "a", prefix: "junk", format: "gnu" }),
    entry({ name: "b", prefix: "junk", format: "v7" }),
    entry({ name: "olddir/", type: "\0", format: "v7" }),
    END,
  );
  assert.deepEqual((await parse(tar)).map((e) => [e.path, e.type]), [
    ["a", "file"],
    ["b", "file"],
    ["olddir/", "dir"],
  ]);
});

Deno.test("readTar applies GNU long name and long link headers to the next entry only", async () => {
  const long = `${"n".repeat(150)}/${"m".repeat(150)}`;
  const target = `/${"t".repeat(300)}`;
  const tar = concat(
    entry({ name: "././@LongLink", type: "L" }, long + "\0"),
    entry({ name: "././@LongLink", type: "K" }, target + "\0"),
    entry({ name: "truncated-name", type: "2", linkname: "truncated-link", format: "gnu" }),
    entry({ name: "short", format: "gnu" }, "s"),
    END,
  );
  const got = await parse(tar);
  assert.deepEqual(got.map((e) => [e.path, e.linkname, e.offset]), [
    [long, target, 0],
    ["short", "", 512 * 5],
  ]);
});

Deno.test("readTar lets pax records override header fields for one entry", async () => {
  const cap = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const tar = concat(
    pax({
      path: "päth/with/ünïcode/" + "x".repeat(200),
      linkpath: "ignored-for-files",
      uid: "4294967294",
      gid: "70000",
      mtime: "1700000000.5",
      "SCHILY.xattr.security.capability": cap,
      "SCHILY.xattr.user.note": "hi=there",
    }),
    entry({ name: "short", uid: 1, gid: 2 }, "data"),
    entry({ name: "next", uid: 1, gid: 2 }),
    END,
  );
  const [a, b] = await parse(tar);
  assert.equal(a!.path, "päth/with/ünïcode/" + "x".repeat(200));
  assert.deepEqual([a!.uid, a!.gid, a!.mtime, a!.data, a!.offset], [
    4294967294,
    70000,
    1700000000.5,
    "data",
    0,
  ]);
  assert.deepEqual(a!.xattrs, { "security.capability": cap, "user.note": enc.encode("hi=there") });
  assert.deepEqual([b!.path, b!.uid, b!.gid, b!.xattrs], ["next", 1, 2, undefined]);
});

Deno.test("readTar takes the data size from a pax size record", async () => {
  const data = "z".repeat(1000);
  const tar = concat(
    pax({ size: "1000" }),
    header({ name: "big", size: 0 }),
    pad(enc.encode(data)),
    END,
  );
  const [e] = await parse(tar);
  assert.deepEqual([e!.size, e!.data], [1000, data]);
});

Deno.test("readTar keeps global pax records until an empty value removes them", async () => {
  const tar = concat(
    pax({ uid: "5000", mtime: "7" }, "g"),
    entry({ name: "a" }),
    pax({ uid: "" }),
    entry({ name: "b", uid: 3 }),
    pax({ mtime: "" }, "g"),
    entry({ name: "c", mtime: 9 }),
    END,
  );
  assert.deepEqual((await parse(tar)).map((e) => [e.path, e.uid, e.mtime]), [
    ["a", 5000, 7],
    ["b", 3, 7],
    ["c", 5000, 9],
  ]);
});

Deno.test("readTar reads base-256 numbers for sizes, ids and negative times", async () => {
  const data = "q".repeat(600);
  const h = header({ name: "b256", size: 600, uid: 2 ** 24, mtime: -86400n });
  h.set(base256(600n, 12), 124); // octal would do; base-256 is legal for any value
  const tar = concat(seal(h), pad(enc.encode(data)), END);
  const [e] = await parse(tar);
  assert.deepEqual([e!.size, e!.uid, e!.mtime, e!.data], [600, 2 ** 24, -86400, data]);
  assert.equal(parseNumber(base256(2n ** 40n, 12), "x"), 2 ** 40);
  assert.equal(parseNumber(base256(-1n, 12), "x"), -1);
  assert.equal(parseNumber(enc.encode("77777777777\0"), "x"), 8 ** 11 - 1);
  assert.equal(parseNumber(enc.encode("  644 \0\0"), "x"), 0o644);
  assert.throws(() => parseNumber(enc.encode("12x\0"), "mode"), /mode: bad octal number "12x"/);
});

Deno.test("readTar streams a large file in the input's chunks without buffering it", async () => {
  const size = 3 * 1024 * 1024 + 17;
  const data = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  const tar = concat(entry({ name: "large" }, data), entry({ name: "after" }, "ok"), END);
  const seen: number[] = [];
  let sum = 0, index = 0;
  for await (const e of readTar(streamOf(tar, 65536))) {
    if (e.path !== "large") continue;
    assert.equal(e.size, size);
    for await (const c of e.body) {
      seen.push(c.length);
      for (const b of c) {
        assert.equal(b, (index++ * 7) & 0xff);
        sum++;
      }
    }
  }
  assert.equal(sum, size);
  assert.ok(Math.max(...seen) <= 65536, "no chunk is larger than the input's");
});

Deno.test("readTar skips unread bodies and parses across 1-byte and odd chunks", async () => {
  const tar = concat(entry({ name: "a" }, "A".repeat(700)), entry({ name: "b" }, "B"), END);
  for (const chunk of [1, 7, 511, 513, 100000]) {
    const names: string[] = [];
    for await (const e of readTar(streamOf(tar, chunk))) names.push(e.path);
    assert.deepEqual(names, ["a", "b"]);
    assert.deepEqual((await parse(tar, chunk)).map((e) => e.data), ["A".repeat(700), "B"]);
  }
});

Deno.test("readTar refuses to read a body after moving to the next entry", async () => {
  const tar = concat(entry({ name: "a" }, "A".repeat(2000)), entry({ name: "b" }), END);
  const it = readTar(streamOf(tar, 100));
  const a = (await it.next()).value as TarEntry;
  const body = a.body[Symbol.asyncIterator]();
  await body.next();
  await it.next();
  await assert.rejects(body.next(), /body read after the next entry/);
  await it.return(undefined);
});

Deno.test("readTar names the entry offset on a bad header checksum", async () => {
  const tar = concat(entry({ name: "ok" }, "1"), entry({ name: "bad" }), END);
  tar[1024 + 100] = tar[1024 + 100]! ^ 1; // flip a bit in the mode of the header at byte 1024
  await assert.rejects(
    parse(tar),
    /tar header at byte 1024 \("bad"\): checksum mismatch .*not a tar archive or corrupted/,
  );
});

Deno.test("readTar reports truncated archives and tolerates a missing end marker", async () => {
  const full = concat(entry({ name: "a" }, "A".repeat(1000)), entry({ name: "b" }, "B"));
  assert.deepEqual((await parse(full)).map((e) => e.path), ["a", "b"]);
  assert.deepEqual((await parse(concat(full, new Uint8Array(512)))).map((e) => e.path), ["a", "b"]);
  await assert.rejects(parse(full.subarray(0, 800)), /truncated inside tar entry "a" at byte 0/);
  await assert.rejects(parse(full.subarray(0, 1536 + 100)), /header at byte 1536 is incomplete/);
  await assert.rejects(parse(pax({ path: "x" })), /ends after extension headers at byte 0/);
  await assert.rejects(
    parse(concat(pax({ size: "99999999" }), header({ name: "x" }))),
    /truncated/,
  );
});

Deno.test("readTar refuses unsupported entry types and malformed pax records", async () => {
  await assert.rejects(
    parse(concat(entry({ name: "s", type: "S" }), END)),
    /unsupported entry type "S"/,
  );
  await assert.rejects(
    parse(concat(pax({ "GNU.sparse.major": "1" }), entry({ name: "s" }), END)),
    /\("s"\): sparse files are unsupported/,
  );
  assert.throws(() => parsePax(enc.encode("99 path=x\n"), "h"), /malformed pax record at byte 0/);
  assert.deepEqual(parsePax(enc.encode("11 path=ab\n"), "h").get("path"), enc.encode("ab"));
});

async function open(bytes: Uint8Array): Promise<string[]> {
  const names: string[] = [];
  for await (const e of readTar(await openArchive(streamOf(bytes, 300)))) names.push(e.path);
  return names;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = streamOf(bytes).pipeThrough(
    new CompressionStream("gzip") as unknown as TransformStream<Uint8Array>,
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("openArchive passes plain tar through and decompresses gzip", async () => {
  const tar = concat(entry({ name: "a" }, "x".repeat(5000)), entry({ name: "b" }), END);
  assert.deepEqual(await open(tar), ["a", "b"]);
  assert.deepEqual(await open(await gzip(tar)), ["a", "b"]);
  assert.deepEqual(await open(END), []);
});

Deno.test("openArchive says what an input that is not tar is", async () => {
  await assert.rejects(
    open(new Uint8Array(0)),
    /^TsboxError: not a tar archive: the input is empty/,
  );
  await assert.rejects(
    open(enc.encode("hello world\n".repeat(100))),
    /^TsboxError: not a tar archive$/,
  );
  await assert.rejects(open(await gzip(enc.encode("x".repeat(600)))), /gzip data that is not tar/);
  const xz = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2, 3]);
  await assert.rejects(open(xz), /xz-compressed data is unsupported/);
});

Deno.test("openArchive reads an FsFile and closes it when reading stops early", async () => {
  const path = await Deno.makeTempFile({ suffix: ".tar.gz" });
  try {
    // GNU tar pads archives to 10 KiB records: readTar stops at the first zero block.
    const tar = concat(entry({ name: "f" }, "data"), new Uint8Array(512 * 1024));
    for (const bytes of [tar, await gzip(tar)]) {
      await Deno.writeFile(path, bytes);
      const names: string[] = [];
      for await (const e of readTar(await openArchive(await Deno.open(path)))) names.push(e.path);
      assert.deepEqual(names, ["f"]);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readTar agrees with GNU tar's gnu and posix formats", {
  ignore: !exists("/usr/bin/tar"),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const long = `${"a".repeat(80)}/${"b".repeat(90)}/${"c".repeat(110)}`;
    await Deno.mkdir(`${dir}/src/${long}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/src/${long}/file`, "content");
    await Deno.symlink(`/${"l".repeat(150)}`, `${dir}/src/link`);
    for (const format of ["gnu", "posix"]) {
      const out = `${dir}/${format}.tar`;
      const tar = new Deno.Command("/usr/bin/tar", {
        args: [
          "--format",
          format,
          "--sort=name",
          "--numeric-owner",
          "-C",
          `${dir}/src`,
          "-cf",
          out,
          ".",
        ],
      });
      assert.equal((await tar.output()).code, 0);
      const got = await parse(await Deno.readFile(out), 1000);
      const file = got.find((e) => e.path === `./${long}/file`);
      assert.equal(file?.data, "content", format);
      const link = got.find((e) => e.path === "./link");
      assert.deepEqual([link?.type, link?.linkname], ["symlink", `/${"l".repeat(150)}`], format);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
