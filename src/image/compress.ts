// Layer compression: gzip through the web DecompressionStream /
// CompressionStream, zstd through node:zlib's zstd streams (both native code
// inside Deno; no external program), detection by magic bytes for archives
// whose media type is unknown (`tsbox import`, `load`).

import { TsboxError } from "../errors.ts";
import type { Compression } from "./oci.ts";

/** The compression `head` (the first bytes of a blob) starts with, or undefined when unknown. */
export function sniffCompression(head: Uint8Array): Compression | "xz" | "bzip2" | undefined {
  const is = (...m: number[]) => m.every((b, i) => head[i] === b);
  if (is(0x1f, 0x8b)) return "gzip";
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  if (is(0x42, 0x5a, 0x68)) return "bzip2";
  return undefined;
}

/** A node transform as a web TransformStream (backpressure kept by the node stream's buffer). */
async function zstdStream(): Promise<TransformStream<Uint8Array, Uint8Array>> {
  const zlib = await import("node:zlib");
  const { Duplex } = await import("node:stream");
  const z = zlib.createZstdDecompress();
  return Duplex.toWeb(z) as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/** Decompresses `stream` as `compression` says. */
export async function decompress(
  stream: ReadableStream<Uint8Array>,
  compression: Compression,
): Promise<ReadableStream<Uint8Array>> {
  switch (compression) {
    case "none":
      return stream;
    case "gzip":
      // The DOM typing takes BufferSource; every chunk here is a Uint8Array.
      return stream.pipeThrough(
        new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      );
    case "zstd":
      return stream.pipeThrough(await zstdStream());
  }
  throw new TsboxError(`unsupported compression ${JSON.stringify(compression)}`);
}

/** gzip-compresses `stream`. */
export function gzip(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
}
