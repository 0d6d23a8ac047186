// A streaming reader of tar archives (pure TypeScript, no kernel interface).
// Formats: POSIX ustar and pax (`x` per-entry and `g` global extended headers,
// see pax(1) "pax Extended Header"), GNU long names (`L`/`K`) and base-256
// numbers, as described in tar(5) (libarchive) and GNU tar's "Basic Tar Format".
// `openArchive` detects gzip by its magic bytes and decompresses it with
// DecompressionStream. Entry bodies stream: a file is never held in memory whole.

import { TsboxError } from "../errors.ts";

/** What a tar entry creates. */
export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** One entry of a tar archive, with pax and GNU extensions already applied. */
export interface TarEntry {
  /** The path as stored (may start with "./", end with "/", or even be absolute). */
  path: string;
  type: TarEntryType;
  /** Permission bits, including setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in seconds since the epoch (fractional when pax gives one). */
  mtime: number;
  /** Bytes of data: what `body` yields. Zero for everything but files. */
  size: number;
  /** The target of a symlink or hardlink; "" otherwise. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax `SCHILY.xattr.<name>` records. */
  xattrs?: Record<string, Uint8Array>;
  /** Byte offset in the (uncompressed) archive of the entry's first header block. */
  offset: number;
  /**
   * The data, as chunks totalling exactly `size` bytes. Iterate it at most once,
   * before asking `readTar` for the next entry; whatever is left unread is skipped.
   */
  body: AsyncIterable<Uint8Array>;
}

const BLOCK = 512;
/** Largest pax / GNU long-name header tsbox reads into memory. */
const MAX_EXTENSION = 8 * 1024 * 1024;
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Field offsets and lengths of a ustar header block. */
const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

function field(block: Uint8Array, f: readonly [number, number]): Uint8Array {
  return block.subarray(f[0], f[0] + f[1]);
}

function text(bytes: Uint8Array, where: string): string {
  const end = bytes.indexOf(0);
  try {
    return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
  } catch (e) {
    throw new TsboxError(`${where}: name is not valid UTF-8`, { cause: e });
  }
}

/**
 * Parses a numeric header field: octal text (NUL- or space-terminated), or
 * GNU base-256 when the high bit of the first byte is set (0xff: negative).
 */
export function parseNumber(bytes: Uint8Array, where: string): number {
  const first = bytes[0] ?? 0;
  if (first & 0x80) {
    let v = BigInt(first & 0x7f) - (first === 0xff ? 0x80n : 0n);
    for (const b of bytes.subarray(1)) v = (v << 8n) | BigInt(b);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new TsboxError(`${where}: number out of range`);
    }
    return Number(v);
  }
  let s = "";
  for (const b of bytes) {
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  s = s.trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new TsboxError(`${where}: bad octal number ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

/** The header checksum: the byte sum with the checksum field read as spaces. */
function headerChecksum(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0, signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= F.chksum[0] && i < F.chksum[0] + F.chksum[1] ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

function checksumOk(block: Uint8Array): boolean {
  let stored: number;
  try {
    stored = parseNumber(field(block, F.chksum), "checksum");
  } catch {
    return false;
  }
  const sum = headerChecksum(block);
  return stored === sum.unsigned || stored === sum.signed;
}

const isZero = (block: Uint8Array) => block.every((b) => b === 0);

function isUstar(block: Uint8Array): boolean {
  return String.fromCharCode(...field(block, F.magic).subarray(0, 5)) === "ustar";
}

/** A record of a pax extended header: key -> raw value bytes. */
type Pax = Map<string, Uint8Array>;

/** Parses pax records `"<len> <key>=<value>\n"`; `len` counts the whole record. */
export function parsePax(data: Uint8Array, where: string): Pax {
  const out: Pax = new Map();
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const sp = data.indexOf(0x20, pos);
    const len = sp < 0 || sp - pos > 20 ? NaN : Number(text(data.subarray(pos, sp), where));
    const end = pos + len;
    if (!Number.isInteger(len) || len <= 0 || end > data.length || data[end - 1] !== 0x0a) {
      throw new TsboxError(`${where}: malformed pax record at byte ${pos}`);
    }
    const eq = data.indexOf(0x3d, sp);
    if (eq < 0 || eq >= end) throw new TsboxError(`${where}: pax record without "=" at ${pos}`);
    out.set(text(data.subarray(sp + 1, eq), where), data.subarray(eq + 1, end - 1));
    pos = end;
  }
  return out;
}

function paxNumber(pax: Pax, key: string, where: string): number | undefined {
  const v = pax.get(key);
  if (v === undefined) return undefined;
  const s = text(v, where);
  if (!/^-?\d+(\.\d+)?$/.test(s)) {
    throw new TsboxError(`${where}: bad pax ${key} ${JSON.stringify(s)}`);
  }
  return Number(s);
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** Extension state carried from extension headers to the entry they describe. */
interface Pending {
  pax: Pax;
  longName?: string;
  longLink?: string;
  /** Offset of the first extension header of the coming entry. */
  start?: number;
}

function buildEntry(
  block: Uint8Array,
  offset: number,
  global: Pax,
  pending: Pending,
): Omit<TarEntry, "body"> {
  const where = `tar header at byte ${offset}`;
  const flag = String.fromCharCode(block[F.typeflag[0]]!);
  let path = text(field(block, F.name), where);
  if (isUstar(block) && String.fromCharCode(...field(block, F.version)) === "00") {
    const prefix = text(field(block, F.prefix), where);
    if (prefix) path = `${prefix}/${path}`;
  }
  let linkname = text(field(block, F.linkname), where);
  if (pending.longName !== undefined) path = pending.longName;
  if (pending.longLink !== undefined) linkname = pending.longLink;

  const pax: Pax = new Map(global);
  for (const [k, v] of pending.pax) {
    if (v.length === 0) pax.delete(k); // an empty value restores the header's field
    else pax.set(k, v);
  }
  const named = `${where} (${JSON.stringify(path)})`;
  for (const key of pax.keys()) {
    if (key.startsWith("GNU.sparse.")) {
      throw new TsboxError(`${named}: sparse files are unsupported`);
    }
  }
  const paxPath = pax.get("path");
  if (paxPath !== undefined) path = text(paxPath, named);
  const paxLink = pax.get("linkpath");
  if (paxLink !== undefined) linkname = text(paxLink, named);

  let type = TYPES[flag];
  if (type === undefined) {
    throw new TsboxError(`${named}: unsupported entry type ${JSON.stringify(flag)}`);
  }
  if (flag === "\0" && path.endsWith("/")) type = "dir"; // pre-POSIX directories
  const size = paxNumber(pax, "size", named) ?? parseNumber(field(block, F.size), `${named} size`);
  const entry: Omit<TarEntry, "body"> = {
    path,
    type,
    mode: parseNumber(field(block, F.mode), `${named} mode`) & 0o7777,
    uid: paxNumber(pax, "uid", named) ?? parseNumber(field(block, F.uid), `${named} uid`),
    gid: paxNumber(pax, "gid", named) ?? parseNumber(field(block, F.gid), `${named} gid`),
    mtime: paxNumber(pax, "mtime", named) ?? parseNumber(field(block, F.mtime), `${named} mtime`),
    // Only regular files carry data; other types' size field is ignored, as Go's archive/tar does.
    size: type === "file" ? size : 0,
    linkname,
    devmajor: parseNumber(field(block, F.devmajor), `${named} devmajor`),
    devminor: parseNumber(field(block, F.devminor), `${named} devminor`),
    offset: pending.start ?? offset,
  };
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new TsboxError(`${named}: bad size ${entry.size}`);
  }
  const xattrs: Record<string, Uint8Array> = {};
  let any = false;
  for (const [k, v] of pax) {
    if (k.startsWith("SCHILY.xattr.")) {
      xattrs[k.slice("SCHILY.xattr.".length)] = v;
      any = true;
    }
  }
  if (any) entry.xattrs = xattrs;
  return entry;
}

/** Reads exact byte counts from a stream, counting the offset; chunks are not copied. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #head: Uint8Array = new Uint8Array(0);
  #done = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    while (this.#head.length === 0) {
      if (this.#done) return false;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.#reader.read();
      } catch (e) {
        throw new TsboxError(`read tar archive at byte ${this.offset}`, { cause: e });
      }
      if (r.done) this.#done = true;
      else this.#head = r.value;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#head.subarray(0, n);
    this.#head = this.#head.subarray(n);
    this.offset += out.length;
    return out;
  }

  /** Exactly `n` bytes, or fewer when the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n && await this.#fill()) {
      const part = this.#take(n - got);
      out.set(part, got);
      got += part.length;
    }
    return got === n ? out : out.subarray(0, got);
  }

  /** Between 1 and `max` bytes, without copying; throws when the stream ends. */
  async readSome(max: number, what: string): Promise<Uint8Array> {
    if (!await this.#fill()) throw new TsboxError(`tar archive is truncated inside ${what}`);
    return this.#take(max);
  }

  /** Discards `n` bytes; throws when the stream ends first. */
  async skip(n: number, what: string): Promise<void> {
    while (n > 0) n -= (await this.readSome(n, what)).length;
  }

  /** Yields `prefix`, then everything not read yet; cancels the source when stopped early. */
  async *replay(prefix: Uint8Array): AsyncGenerator<Uint8Array> {
    try {
      if (prefix.length) yield prefix;
      while (await this.#fill()) yield this.#take(this.#head.length);
    } finally {
      await this.cancel();
    }
  }

  /** Stops reading and releases the source. */
  async cancel(): Promise<void> {
    if (!this.#done) await this.#reader.cancel().catch(() => {});
    this.#reader.releaseLock();
  }
}

/** The data of one entry; the generator calls `finish` before reading the next header. */
class Body implements AsyncIterable<Uint8Array> {
  #reader: ByteReader;
  #remaining: number;
  #padding: number;
  #started = false;
  #finished = false;
  #what: string;

  constructor(reader: ByteReader, size: number, what: string) {
    this.#reader = reader;
    this.#remaining = size;
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.#what = what;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#started) throw new TsboxError(`${this.#what}: body read twice`);
    this.#started = true;
    while (this.#remaining > 0) {
      if (this.#finished) throw new TsboxError(`${this.#what}: body read after the next entry`);
      const chunk = await this.#reader.readSome(this.#remaining, this.#what);
      this.#remaining -= chunk.length;
      yield chunk;
    }
  }

  async finish(): Promise<void> {
    this.#finished = true;
    await this.#reader.skip(this.#remaining + this.#padding, this.#what);
  }
}

/**
 * Reads a tar stream entry by entry. Each entry's `body` must be consumed (or
 * ignored) before the next `next()`; unread data is skipped. Stops at the
 * end-of-archive marker or at a clean EOF between entries; throws TsboxError
 * on a bad checksum, a truncated archive or an unsupported entry type.
 *
 * @example
 * for await (const e of readTar(await openArchive(file))) {
 *   if (e.type === "file") for await (const chunk of e.body) use(chunk);
 * }
 */
export async function* readTar(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(stream);
  try {
    const global: Pax = new Map();
    let pending: Pending = { pax: new Map() };
    while (true) {
      const offset = reader.offset;
      const block = await reader.read(BLOCK);
      if (block.length > 0 && block.length < BLOCK) {
        throw new TsboxError(`tar archive is truncated: header at byte ${offset} is incomplete`);
      }
      // End of archive: a zero block (the second one and anything after are not needed) or EOF.
      if (block.length === 0 || isZero(block)) {
        if (pending.start === undefined) return;
        throw new TsboxError(`tar archive ends after extension headers at byte ${pending.start}`);
      }
      if (!checksumOk(block)) {
        let name = "";
        try {
          name = ` (${JSON.stringify(text(field(block, F.name), ""))})`;
        } catch { /* not text: leave the name out */ }
        const sum = headerChecksum(block).unsigned.toString(8);
        const stored = String.fromCharCode(...field(block, F.chksum)).replace(/[\0 ]+$/, "");
        throw new TsboxError(
          `tar header at byte ${offset}${name}: checksum mismatch (stored ${
            JSON.stringify(stored)
          }, computed ${sum} octal): not a tar archive or corrupted`,
        );
      }
      const flag = String.fromCharCode(block[F.typeflag[0]]!);
      if ("xgLKV".includes(flag)) {
        const where = `tar header at byte ${offset}`;
        const size = parseNumber(field(block, F.size), `${where} size`);
        if (size > MAX_EXTENSION) {
          throw new TsboxError(`${where}: extension of ${size} bytes is too large`);
        }
        const data = await reader.read(size);
        await reader.skip((BLOCK - (size % BLOCK)) % BLOCK, where);
        if (data.length < size) throw new TsboxError(`tar archive is truncated: ${where}`);
        if (flag === "V") continue; // GNU volume label: nothing to create
        pending.start ??= offset;
        if (flag === "x") pending.pax = parsePax(data, where);
        if (flag === "L") pending.longName = text(data, where);
        if (flag === "K") pending.longLink = text(data, where);
        if (flag === "g") {
          for (const [k, v] of parsePax(data, where)) {
            if (v.length === 0) global.delete(k);
            else global.set(k, v);
          }
        }
        continue;
      }
      const meta = buildEntry(block, offset, global, pending);
      pending = { pax: new Map() };
      const body = new Body(
        reader,
        meta.size,
        `tar entry ${JSON.stringify(meta.path)} at byte ${meta.offset}`,
      );
      yield { ...meta, body };
      await body.finish();
    }
  } finally {
    await reader.cancel();
  }
}

/** A tar file to read: an open file or a byte stream. */
export type ArchiveSource = Deno.FsFile | ReadableStream<Uint8Array>;

const OTHER_FORMATS: [number[], string][] = [
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz"],
  [[0x28, 0xb5, 0x2f, 0xfd], "zstd"],
  [[0x42, 0x5a, 0x68], "bzip2"],
];

/** True when `head` (the first block, or all of a short input) starts a tar archive. */
function looksLikeTar(head: Uint8Array): boolean {
  if (head.length < BLOCK) return false;
  const block = head.subarray(0, BLOCK);
  return isZero(block) || checksumOk(block);
}

/**
 * Opens a tar archive, plain or gzip-compressed (detected by the magic bytes
 * 1f 8b), and returns the uncompressed tar stream. An FsFile is consumed and
 * closed when the stream ends or is cancelled. Throws TsboxError "not a tar
 * archive" for anything else.
 *
 * @example
 * const tar = await openArchive(await Deno.open("rootfs.tar.gz"));
 */
export async function openArchive(source: ArchiveSource): Promise<ReadableStream<Uint8Array>> {
  const raw = source instanceof ReadableStream ? source : source.readable;
  const first = await peek(raw, BLOCK);
  if (first.head.length === 0) {
    await first.stream.cancel();
    throw new TsboxError("not a tar archive: the input is empty");
  }
  if (first.head[0] === 0x1f && first.head[1] === 0x8b) {
    // The DOM typing takes BufferSource; every chunk here is a Uint8Array.
    const gunzip = new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array>;
    const plain = first.stream.pipeThrough(gunzip);
    const second = await peek(plain, BLOCK);
    if (!looksLikeTar(second.head)) {
      await second.stream.cancel().catch(() => {});
      throw new TsboxError("not a tar archive: gzip data that is not tar");
    }
    return second.stream;
  }
  if (looksLikeTar(first.head)) return first.stream;
  await first.stream.cancel();
  for (const [magic, name] of OTHER_FORMATS) {
    if (magic.every((b, i) => first.head[i] === b)) {
      throw new TsboxError(
        `not a tar archive: ${name}-compressed data is unsupported (decompress it first)`,
      );
    }
  }
  throw new TsboxError("not a tar archive");
}

/** Reads up to `n` bytes and returns them with a stream that yields the whole input again. */
async function peek(stream: ReadableStream<Uint8Array>, n: number) {
  const reader = new ByteReader(stream);
  const head = await reader.read(n);
  return { head, stream: ReadableStream.from(reader.replay(head)) };
}
