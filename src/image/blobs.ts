// The blob store: content by digest under $TSBOX_ROOT/blobs/sha256/<hex>
// (manifests, image configs, layer blobs as pulled or made). A blob is
// written to a temp file, verified (digest and size) while it streams, and
// renamed into place: a reader never sees a partial blob, and a crash leaves
// only a temp file that `clearStaleTmp` removes. Temp names carry the
// writer's pid, so a live writer's files are never removed.

import { TsboxError } from "../errors.ts";
import { blobsDir, storeTmpDir } from "../paths.ts";
import { Hasher, hex, sha256 } from "./digest.ts";

/** The path of a blob. */
export function blobPath(digest: string): string {
  return `${blobsDir()}/sha256/${hex(digest)}`;
}

/** Whether the blob is stored. */
export function hasBlob(digest: string): boolean {
  try {
    return Deno.statSync(blobPath(digest)).isFile;
  } catch {
    return false;
  }
}

/** A unique path under the store's tmp dir, named after this process. */
export function tmpPath(what: string): string {
  Deno.mkdirSync(storeTmpDir(), { recursive: true, mode: 0o700 });
  const rand = crypto.getRandomValues(new Uint32Array(2)).join("");
  return `${storeTmpDir()}/${Deno.pid}-${rand}-${what}`;
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Removes what dead processes left in the tmp dir (an interrupted pull or load). */
export function clearStaleTmp(): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(storeTmpDir())];
  } catch {
    return;
  }
  for (const e of entries) {
    const pid = Number(e.name.split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid) && pid !== 1) continue;
    Deno.removeSync(`${storeTmpDir()}/${e.name}`, { recursive: true });
  }
}

/** What a blob must be: its digest and, when known, its size. */
export interface Expected {
  digest: string;
  size?: number;
}

/** Writes one blob: chunks in, verified on commit, renamed into place. */
export class BlobWriter {
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #hash: Hasher;
  readonly #expect: Expected | undefined;
  #done = false;

  private constructor(path: string, file: Deno.FsFile, hash: Hasher, expect?: Expected) {
    this.path = path;
    this.#file = file;
    this.#hash = hash;
    this.#expect = expect;
  }

  /** A writer into a new temp file. */
  static async create(expect?: Expected): Promise<BlobWriter> {
    const path = tmpPath("blob");
    const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    return new BlobWriter(path, file, await Hasher.create(), expect);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#hash.size;
  }

  /** Appends a chunk (hashes it too). Throws when it exceeds the expected size. */
  write(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    if (this.#expect?.size !== undefined && this.#hash.size > this.#expect.size) {
      throw new TsboxError(
        `blob ${this.#expect.digest} is larger than its ${this.#expect.size} bytes`,
      );
    }
    let off = 0;
    while (off < chunk.length) off += this.#file.writeSync(chunk.subarray(off));
  }

  /** Verifies the digest and size, then moves the blob into place; returns its digest. */
  commit(): string {
    this.#done = true;
    this.#file.close();
    const digest = this.#hash.digest();
    try {
      const e = this.#expect;
      if (e?.size !== undefined && this.#hash.size !== e.size) {
        throw new TsboxError(
          `blob ${e.digest}: size mismatch: got ${this.#hash.size} bytes, expected ${e.size}`,
        );
      }
      if (e && digest !== e.digest) {
        throw new TsboxError(`digest mismatch: blob ${e.digest} has digest ${digest}`);
      }
      Deno.mkdirSync(`${blobsDir()}/sha256`, { recursive: true, mode: 0o700 });
      Deno.renameSync(this.path, blobPath(digest));
    } catch (err) {
      Deno.removeSync(this.path);
      throw err;
    }
    return digest;
  }

  /** Drops the temp file. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      this.#file.close();
    } catch { /* closed */ }
    Deno.removeSync(this.path);
  }
}

/** Stores small content (a manifest, a config); returns its digest. */
export async function putBlob(bytes: Uint8Array): Promise<string> {
  const digest = await sha256(bytes);
  if (hasBlob(digest)) return digest;
  const w = await BlobWriter.create({ digest, size: bytes.length });
  try {
    w.write(bytes);
  } catch (e) {
    w.abort();
    throw e;
  }
  return w.commit();
}

/** Reads a whole (small) blob. */
export function readBlob(digest: string): Uint8Array {
  try {
    return Deno.readFileSync(blobPath(digest));
  } catch (e) {
    throw new TsboxError(`read blob ${digest}`, { cause: e });
  }
}

/** Reads a JSON blob. */
export function readJsonBlob<T>(digest: string): T {
  return JSON.parse(new TextDecoder().decode(readBlob(digest))) as T;
}

/** Removes a blob (gone already is fine). */
export function removeBlob(digest: string): void {
  try {
    Deno.removeSync(blobPath(digest));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** The digests of every stored blob. */
export function listBlobs(): string[] {
  try {
    return [...Deno.readDirSync(`${blobsDir()}/sha256`)].map((e) => `sha256:${e.name}`);
  } catch {
    return [];
  }
}

/** Stores a JSON document as a blob; returns its digest and size. */
export async function putBlobJson(doc: unknown): Promise<{ digest: string; size: number }> {
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  return { digest: await putBlob(bytes), size: bytes.length };
}
