// Taking a layer blob into the store in one pass: the bytes are written to
// the blob store (digest and size verified as they stream) while they are
// decompressed and unpacked into a new layer directory (its diff id
// computed on the way). Nothing is visible until both are complete and
// verified; on any failure both temp files go. Used by pull, import and load.

import { TsboxError } from "../errors.ts";
import { BlobWriter, type Expected } from "./blobs.ts";
import { decompress, sniffCompression } from "./compress.ts";
import { GcPacer } from "./gc_pacer.ts";
import { chainIds, sha256 } from "./digest.ts";
import { commitLayer, type Layer, removeQuietly, unpackLayer } from "./layers.ts";
import { type Compression, MediaType } from "./oci.ts";

/** Options of `ingestLayer`. */
export interface IngestOptions {
  /** The blob must have this digest and size (a manifest said so). */
  expect?: Expected;
  /** The blob's compression; "sniff" reads its magic bytes. */
  compression: Compression | "sniff";
  /** Chain id of the layer below (null for the base layer). */
  parent: string | null;
  /** The layer's diff id must be this (the image config said so). */
  diffId?: string;
  /** Called with the byte count as the blob streams in. */
  onBytes?: (n: number) => void;
  /** Called once the last byte of the blob has arrived, while unpacking finishes. */
  onExtracting?: () => void;
}

/** A layer taken in, and the blob it came from. */
export interface Ingested {
  layer: Layer;
  blob: { digest: string; size: number; mediaType: string };
}

const MEDIA: Record<Compression, string> = {
  none: MediaType.ociLayer,
  gzip: MediaType.ociLayerGzip,
  zstd: MediaType.ociLayerZstd,
};

/** Reads the first bytes of a stream and gives back a stream of everything. */
async function peekStream(
  s: ReadableStream<Uint8Array>,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = s.getReader();
  const first = await reader.read();
  const head = first.done ? new Uint8Array(0) : first.value;
  const stream = new ReadableStream<Uint8Array>({
    start(ctl) {
      if (head.length) ctl.enqueue(head);
    },
    async pull(ctl) {
      const r = await reader.read();
      if (r.done) ctl.close();
      else ctl.enqueue(r.value);
    },
    cancel(why) {
      return reader.cancel(why);
    },
  }, { highWaterMark: 0 });
  return { head, stream };
}

/**
 * Stores a layer blob and unpacks it as the layer above `parent`; returns
 * the stored layer. Throws (leaving nothing) on a digest or size mismatch,
 * a diff id mismatch, a bad archive or a full disk.
 */
export async function ingestLayer(
  source: ReadableStream<Uint8Array>,
  opts: IngestOptions,
): Promise<Ingested> {
  const { head, stream } = await peekStream(source);
  let compression: Compression;
  if (opts.compression === "sniff") {
    const c = sniffCompression(head);
    if (c === "xz" || c === "bzip2") {
      await stream.cancel();
      throw new TsboxError(
        `not a tar archive: ${c}-compressed data is unsupported (decompress it first)`,
      );
    }
    compression = c ?? "none";
  } else compression = opts.compression;
  const writer = await BlobWriter.create(opts.expect);
  // Compressed bytes stand for up to a few times as many decompressed ones.
  const pacer = new GcPacer(1 << 20);
  let unpackedTmp: string | undefined;
  try {
    const teed = stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          writer.write(chunk);
          pacer.add(chunk.length);
          opts.onBytes?.(writer.size);
          ctl.enqueue(chunk);
        },
        flush() {
          opts.onExtracting?.();
        },
      }),
    );
    const u = await unpackLayer(await decompress(teed, compression));
    unpackedTmp = u.tmp;
    if (opts.diffId !== undefined && u.diffId !== opts.diffId) {
      throw new TsboxError(
        `layer diff id mismatch: the config says ${opts.diffId}, the layer's content is ${u.diffId}`,
      );
    }
    const size = writer.size;
    const digest = writer.commit();
    const chainId = opts.parent === null ? u.diffId : await sha256(`${opts.parent} ${u.diffId}`);
    const layer = commitLayer(u, chainId, opts.parent);
    unpackedTmp = undefined;
    return { layer, blob: { digest, size, mediaType: MEDIA[compression] } };
  } catch (e) {
    writer.abort();
    // Best effort: the original error is the one to report.
    if (unpackedTmp) removeQuietly(unpackedTmp);
    throw e;
  }
}

export { chainIds };
