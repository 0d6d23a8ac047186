// `tsbox save`: images as a docker-archive (the format `docker save` wrote
// before Docker 25 and `podman save` writes by default, which both `load`
// commands read): one uncompressed `<diff id hex>.tar` per layer, the
// config as `<config hex>.json`, and manifest.json listing, per image, its
// config, RepoTags and layers in order. A layer blob is decompressed twice:
// once to learn its size for the tar header, once to copy it.

import { TsboxError } from "../../errors.ts";
import { blobPath, readBlob } from "../blobs.ts";
import { decompress } from "../compress.ts";
import { hex } from "../digest.ts";
import { layerCompression } from "../oci.ts";
import { packImage } from "../pack.ts";
import { familiarName, type Image } from "../store.ts";
import { headerBlocks } from "../tar_write.ts";

async function layerStream(digest: string, mediaType: string): Promise<ReadableStream<Uint8Array>> {
  const c = layerCompression(mediaType);
  if (c === undefined) throw new TsboxError(`layer ${digest}: unsupported media type ${mediaType}`);
  return await decompress((await Deno.open(blobPath(digest))).readable, c);
}

/** Writes `images` (with the names to record for each) as a docker-archive to `out`. */
export async function saveImages(
  images: { image: Image; names: string[] }[],
  out: Deno.FsFile,
): Promise<void> {
  const write = (b: Uint8Array) => {
    let off = 0;
    while (off < b.length) off += out.writeSync(b.subarray(off));
  };
  const mtime = Math.floor(Date.now() / 1000);
  const file = (name: string, data: Uint8Array) => {
    write(headerBlocks({ name, type: "0", mode: 0o644, uid: 0, gid: 0, size: data.length, mtime }));
    write(data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) write(new Uint8Array(pad));
  };
  const written = new Set<string>();
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, names } of images) {
    const packed = await packImage(image);
    const layerNames: string[] = [];
    for (const [i, l] of packed.layers.entries()) {
      const name = `${hex(packed.diffIds[i]!)}.tar`;
      layerNames.push(name);
      if (written.has(name)) continue;
      written.add(name);
      let size = 0;
      for await (const c of await layerStream(l.digest, l.mediaType)) size += c.length;
      write(headerBlocks({ name, type: "0", mode: 0o644, uid: 0, gid: 0, size, mtime }));
      let copied = 0;
      for await (const c of await layerStream(l.digest, l.mediaType)) {
        write(c);
        copied += c.length;
      }
      if (copied !== size) throw new TsboxError(`layer ${l.digest} changed while saved`);
      const pad = (512 - (size % 512)) % 512;
      if (pad) write(new Uint8Array(pad));
    }
    const cfgName = `${hex(packed.config.digest)}.json`;
    if (!written.has(cfgName)) {
      written.add(cfgName);
      file(cfgName, readBlob(packed.config.digest));
    }
    const tags = names.map(familiarName);
    manifest.push({ Config: cfgName, RepoTags: tags.length ? tags : null, Layers: layerNames });
    for (const t of tags) {
      const c = t.lastIndexOf(":");
      (repositories[t.slice(0, c)] ??= {})[t.slice(c + 1)] = hex(packed.diffIds.at(-1) ?? "");
    }
  }
  const enc = new TextEncoder();
  file("manifest.json", enc.encode(JSON.stringify(manifest)));
  file("repositories", enc.encode(JSON.stringify(repositories)));
  write(new Uint8Array(1024));
}
