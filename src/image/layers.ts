// The layer store: each layer unpacked once, keyed by its chain id
// (OCI image-spec config.md), shared by every image that has it:
//   layers/<chain hex>/diff/   the layer's files, whiteouts as overlay whiteouts
//   l/<short>                  -> ../layers/<chain hex>/diff (what overlay is given)
// A layer is unpacked into a temp dir (tmp/<pid>-...), its diff id computed
// from the uncompressed stream as it is read, then renamed into place and
// recorded in the `layers` table; a crash leaves only a temp dir.

import { TsboxError } from "../errors.ts";
import { layerLinksDir, layersDir } from "../paths.ts";
import { state } from "../state/db.ts";
import { tmpPath } from "./blobs.ts";
import { Hasher, hex } from "./digest.ts";
import { extractTar } from "./extract.ts";

/** A stored layer. */
export interface Layer {
  chainId: string;
  diffId: string;
  parent: string | null;
  /** Bytes of file data. */
  size: number;
}

/** The directory overlay is given for a layer: a short link, so 128 of them fit a page. */
export function layerPath(chainId: string): string {
  return `${layerLinksDir()}/${shortId(chainId)}`;
}

/** The layer's own directory. */
export function layerDiffDir(chainId: string): string {
  return `${layersDir()}/${hex(chainId)}/diff`;
}

/** The short link name of a layer (Docker's l/ names are 26 characters; 16 hex do here). */
export function shortId(chainId: string): string {
  return hex(chainId).slice(0, 16);
}

interface LayerRow {
  chain_id: string;
  diff_id: string;
  parent: string | null;
  size: number;
}

function toLayer(r: LayerRow): Layer {
  return { chainId: r.chain_id, diffId: r.diff_id, parent: r.parent, size: r.size };
}

/** The stored layer with this chain id, or undefined (also when its directory is gone). */
export function getLayer(chainId: string): Layer | undefined {
  const r = state().get<LayerRow>("SELECT * FROM layers WHERE chain_id = ?", chainId);
  if (!r) return undefined;
  try {
    Deno.statSync(layerDiffDir(chainId));
  } catch {
    return undefined;
  }
  return toLayer(r);
}

/**
 * Wraps a stream so that a consumer that stops early (the tar reader stops at
 * the end-of-archive blocks) does not cancel the source: `drain` reads the
 * rest, so digests computed upstream cover every byte.
 */
export function detachable(upstream: ReadableStream<Uint8Array>): {
  stream: ReadableStream<Uint8Array>;
  drain: () => Promise<void>;
  cancel: (why: unknown) => Promise<void>;
} {
  const reader = upstream.getReader();
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const r = await reader.read();
      if (cancelled) return;
      if (r.done) ctl.close();
      else ctl.enqueue(r.value);
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    drain: async () => {
      while (!(await reader.read()).done) { /* hashed upstream */ }
    },
    cancel: (why) => reader.cancel(why).catch(() => {}),
  };
}

/** An unpacked layer in a temp dir, not yet in the store. */
export interface Unpacked {
  tmp: string;
  diffId: string;
  /** Bytes of file data. */
  size: number;
  entries: number;
}

/**
 * Unpacks an uncompressed layer tar stream into a new temp dir, computing its
 * diff id. The whole stream is read. On failure the temp dir is removed.
 */
export async function unpackLayer(tar: ReadableStream<Uint8Array>): Promise<Unpacked> {
  const hash = await Hasher.create();
  const d = detachable(tar.pipeThrough(hash.stream()));
  const tmp = tmpPath("layer");
  try {
    Deno.mkdirSync(tmp, { recursive: true, mode: 0o700 }); // layers/<chain id>: tsbox's
    Deno.mkdirSync(`${tmp}/diff`, { mode: 0o755 }); // the layer's tree
    Deno.chmodSync(`${tmp}/diff`, 0o755);
    const r = await extractTar(d.stream, `${tmp}/diff`, { layer: true });
    await d.drain();
    return { tmp, diffId: hash.digest(), size: r.bytes, entries: r.entries };
  } catch (e) {
    await d.cancel(e);
    removeQuietly(tmp);
    throw e;
  }
}

/**
 * Moves an unpacked layer into place as `chainId` and records it. When the
 * layer is already stored (a parallel pull won), the temp dir is dropped.
 */
export function commitLayer(u: Unpacked, chainId: string, parent: string | null): Layer {
  const dir = `${layersDir()}/${hex(chainId)}`;
  Deno.mkdirSync(layersDir(), { recursive: true, mode: 0o700 });
  Deno.mkdirSync(layerLinksDir(), { recursive: true, mode: 0o700 });
  try {
    Deno.renameSync(u.tmp, dir);
  } catch (e) {
    removeQuietly(u.tmp);
    if (!(e instanceof Deno.errors.AlreadyExists) && !/ENOTEMPTY|not empty/i.test(String(e))) {
      throw new TsboxError(`store layer ${chainId}`, { cause: e });
    }
  }
  const link = layerPath(chainId);
  try {
    Deno.symlinkSync(`../layers/${hex(chainId)}/diff`, link);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  state().run(
    "INSERT OR REPLACE INTO layers (chain_id, diff_id, parent, size, created) VALUES (?, ?, ?, ?, ?)",
    chainId,
    u.diffId,
    parent,
    u.size,
    new Date().toISOString(),
  );
  return { chainId, diffId: u.diffId, parent, size: u.size };
}

/** Removes a layer's files and record. */
export function removeLayer(chainId: string): void {
  state().run("DELETE FROM layers WHERE chain_id = ?", chainId);
  try {
    Deno.removeSync(layerPath(chainId));
  } catch { /* gone */ }
  const dir = `${layersDir()}/${hex(chainId)}`;
  // Renamed first, so a crash midway never leaves a half-deleted layer under its name.
  const doomed = tmpPath("rm-layer");
  try {
    Deno.renameSync(dir, doomed);
  } catch {
    return;
  }
  Deno.removeSync(doomed, { recursive: true });
}

/** Every stored layer. */
export function listLayers(): Layer[] {
  return state().all<LayerRow>("SELECT * FROM layers").map(toLayer);
}

/** Removes a temporary path, ignoring failures (a cleanup must not hide the error it follows). */
export function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch { /* gone already, or the disk is failing: the caller reports the real error */ }
}
