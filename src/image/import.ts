// `tsbox import`: a root filesystem tarball (.tar, .tar.gz, .tar.zst)
// becomes a one-layer image, as `docker import` makes it: the tarball is the
// layer blob, a config and an OCI manifest are written beside it.

import { TsboxError } from "../errors.ts";
import { putBlob } from "./blobs.ts";
import { hex } from "./digest.ts";
import { ingestLayer } from "./ingest.ts";
import { type ContainerConfigJSON, type ImageConfigJSON, type Manifest, MediaType } from "./oci.ts";
import { addImage, type Image, normalizeName, type RuntimeConfig, tagImage } from "./store.ts";

/** Makes an image config and manifest for layers already stored; returns the image. */
export async function recordImage(
  layers: Awaited<ReturnType<typeof ingestLayer>>[],
  config: ContainerConfigJSON,
  history: { created_by: string; comment?: string },
  extra: { parent?: string; comment?: string; author?: string } = {},
): Promise<Image> {
  const created = new Date().toISOString();
  const cfg: ImageConfigJSON = {
    created,
    ...(extra.author ? { author: extra.author } : {}),
    architecture: "amd64",
    os: "linux",
    config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.layer.diffId) },
    history: [{ created, ...history }],
  };
  const cfgBytes = new TextEncoder().encode(JSON.stringify(cfg));
  const configDigest = await putBlob(cfgBytes);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: cfgBytes.length },
    layers: layers.map((l) => ({
      mediaType: l.blob.mediaType,
      digest: l.blob.digest,
      size: l.blob.size,
    })),
  };
  const manifestDigest = await putBlob(new TextEncoder().encode(JSON.stringify(manifest)));
  return addImage({
    id: hex(configDigest),
    config,
    configDigest,
    manifestDigest,
    created,
    ...(extra.parent ? { parent: extra.parent } : {}),
    ...(extra.comment ? { comment: extra.comment } : {}),
    layers: layers.map((l) => ({ layer: l.layer, blob: l.blob })),
  });
}

/**
 * Imports a root filesystem tarball as image `name`. Requires root (file
 * ownership, device nodes). A bad archive leaves nothing behind.
 */
export async function importImage(
  file: string,
  name: string,
  config: RuntimeConfig,
): Promise<Image> {
  const ref = normalizeName(name);
  let f: Deno.FsFile;
  try {
    f = await Deno.open(file);
  } catch (e) {
    throw new TsboxError(`open ${JSON.stringify(file)}`, { cause: e });
  }
  let layer;
  try {
    layer = await ingestLayer(f.readable, { compression: "sniff", parent: null });
  } catch (e) {
    throw new TsboxError(`import ${JSON.stringify(file)}`, { cause: e });
  }
  const img = await recordImage([layer], config as ContainerConfigJSON, {
    created_by: "tsbox import",
    comment: `imported from ${file}`,
  });
  tagImage(img.id, ref);
  return { ...img, names: [...new Set([...img.names, ref])] };
}
