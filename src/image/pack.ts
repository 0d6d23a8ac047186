// The blobs of an image as a registry or an archive needs them: each layer's
// stored blob, or, for a layer that has none (an image imported before
// layers, or whose blob was collected), one packed again from the layer's
// directory (overlay whiteouts back to `.wh.` entries), gzip-compressed, and
// the image's config and manifest.

import { TsboxError } from "../errors.ts";
import { blobPath, BlobWriter, hasBlob, putBlobJson, readBlob, tmpPath } from "./blobs.ts";
import { gzip } from "./compress.ts";
import { Hasher } from "./digest.ts";
import { imageConfigDoc } from "./inspect.ts";
import { getLayer, layerDiffDir } from "./layers.ts";
import { type Descriptor, type Manifest, MediaType } from "./oci.ts";
import { type Image, layerBlobs, setLayerBlob, setManifest, storedLayerBlob } from "./store.ts";
import { writeTree } from "./tar_write.ts";

/** An image ready to send: manifest, config and layer descriptors, all stored as blobs. */
export interface Packed {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  manifestDigest: string;
  config: Descriptor;
  layers: Descriptor[];
  /** Diff ids, base first. */
  diffIds: string[];
}

/** Packs one layer directory into a gzip blob; returns its descriptor. */
async function packLayer(dir: string, diffId: string): Promise<Descriptor> {
  const tarFile = tmpPath("pack.tar");
  try {
    const f = Deno.openSync(tarFile, { write: true, createNew: true, mode: 0o600 });
    const h = await Hasher.create();
    try {
      writeTree(dir, (c) => {
        h.update(c);
        let off = 0;
        while (off < c.length) off += f.writeSync(c.subarray(off));
      }, { overlayUpper: true });
    } finally {
      f.close();
    }
    const got = h.digest();
    if (got !== diffId) {
      // Packing is deterministic but need not match the archive it came from; the
      // config's diff id is what the layer's content must have.
      throw new TsboxError(
        `layer ${diffId} packs to ${got}: no stored blob of it is left (pull or load the image again)`,
      );
    }
    const w = await BlobWriter.create();
    try {
      for await (const c of gzip((await Deno.open(tarFile)).readable)) w.write(c);
    } catch (e) {
      w.abort();
      throw e;
    }
    const size = w.size;
    return { mediaType: MediaType.ociLayerGzip, digest: w.commit(), size };
  } finally {
    Deno.removeSync(tarFile);
  }
}

/** Makes sure every blob of `img` is stored; returns what to send. */
export async function packImage(img: Image): Promise<Packed> {
  const doc = imageConfigDoc(img);
  const diffIds = doc.rootfs.diff_ids;
  const layers: Descriptor[] = [];
  if (img.legacyRootfs) {
    throw new TsboxError(
      "this image was imported before layers: import its tarball again to push or save it",
    );
  }
  const blobs = layerBlobs(img);
  for (const [i, b] of blobs.entries()) {
    if (b.digest && b.mediaType && b.size !== null && hasBlob(b.digest)) {
      layers.push({ mediaType: b.mediaType, digest: b.digest, size: b.size });
      continue;
    }
    // Another image may hold a blob of the same layer (it was "Already exists" on pull).
    const other = storedLayerBlob(b.chainId, hasBlob);
    if (other) {
      setLayerBlob(img.id, i, other);
      layers.push(other);
      continue;
    }
    const layer = getLayer(b.chainId);
    if (!layer) throw new TsboxError(`layer ${b.chainId} is missing`);
    const d = await packLayer(layerDiffDir(b.chainId), layer.diffId);
    setLayerBlob(img.id, i, d);
    layers.push(d);
  }
  let cfgDigest = img.configDigest;
  let cfgSize: number;
  if (cfgDigest && hasBlob(cfgDigest)) cfgSize = readBlob(cfgDigest).length;
  else {
    const c = await putBlobJson(doc);
    cfgDigest = c.digest;
    cfgSize = c.size;
  }
  let manifestDigest = img.manifestDigest;
  let manifestBytes: Uint8Array | undefined;
  let manifest: Manifest | undefined;
  if (manifestDigest && hasBlob(manifestDigest)) {
    manifestBytes = readBlob(manifestDigest);
    const m = JSON.parse(new TextDecoder().decode(manifestBytes)) as Manifest;
    const same = m.config?.digest === cfgDigest && m.layers?.length === layers.length &&
      m.layers.every((l, i) => l.digest === layers[i]!.digest);
    if (same) manifest = m;
  }
  if (!manifest || !manifestBytes) {
    manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: cfgDigest, size: cfgSize },
      layers,
    };
    const m = await putBlobJson(manifest);
    manifestDigest = m.digest;
    manifestBytes = readBlob(m.digest);
    setManifest(img.id, m.digest);
  }
  return {
    manifest,
    manifestBytes,
    manifestDigest: manifestDigest!,
    config: manifest.config,
    layers,
    diffIds,
  };
}

export { blobPath };
