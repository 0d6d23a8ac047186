// `tsbox load`: images from a docker-archive (`docker save`, `podman save`:
// manifest.json with Config, RepoTags, Layers) or an OCI image layout in a
// tar (oci-archive: oci-layout, index.json, blobs/sha256/...). The archive's
// regular files are first copied into a temp dir of the store (their order
// in the tar is not fixed), then each image's layers are taken in with their
// diff ids checked against its config. Nothing is tagged until the image is
// complete; the temp dir goes in every case.

import { TsboxError } from "../../errors.ts";
import { putBlob, tmpPath } from "../blobs.ts";
import { chainIds, hex, sha256 } from "../digest.ts";
import { ingestLayer } from "../ingest.ts";
import { getLayer, type Layer } from "../layers.ts";
import {
  type Descriptor,
  hostPlatform,
  type ImageConfigJSON,
  type Index,
  isIndexType,
  layerCompression,
  type Manifest,
  parseManifestDoc,
  selectPlatform,
} from "../oci.ts";
import { canonical, parseReference, withDefaultTag } from "../registry/reference.ts";
import { addImage, type Image, tagImage } from "../store.ts";
import { openArchive, readTar } from "../tar.ts";

/** Copies the regular files of a tar archive under `dir` (safe names only). */
async function unpackFiles(file: string, dir: string): Promise<void> {
  const f = await Deno.open(file).catch((e) => {
    throw new TsboxError(`open ${JSON.stringify(file)}`, { cause: e });
  });
  for await (const e of readTar(await openArchive(f))) {
    if (e.type !== "file") continue;
    const parts = e.path.split("/").filter((p) => p && p !== ".");
    if (parts.some((p) => p === "..") || e.path.startsWith("/") || !parts.length) {
      throw new TsboxError(`archive entry ${JSON.stringify(e.path)} leaves the archive`);
    }
    const target = `${dir}/${parts.join("/")}`;
    Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true, mode: 0o700 });
    const out = Deno.openSync(target, { write: true, createNew: true, mode: 0o600 });
    try {
      for await (const c of e.body) {
        let off = 0;
        while (off < c.length) off += out.writeSync(c.subarray(off));
      }
    } finally {
      out.close();
    }
  }
}

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch (e) {
    throw new TsboxError(`read ${what}`, { cause: e });
  }
}

async function takeLayers(
  paths: string[],
  compressions: ("sniff" | ReturnType<typeof layerCompression>)[],
  cfg: ImageConfigJSON,
  expect: (Descriptor | undefined)[],
): Promise<{ layer: Layer; blob?: { digest: string; mediaType: string; size: number } }[]> {
  const diffIds = cfg.rootfs?.diff_ids ?? [];
  if (diffIds.length !== paths.length) {
    throw new TsboxError(
      `image config lists ${diffIds.length} layers, the archive ${paths.length}`,
    );
  }
  const chains = await chainIds(diffIds);
  const out = [];
  for (const [i, p] of paths.entries()) {
    const have = getLayer(chains[i]!);
    const e = expect[i];
    if (have && !e) {
      out.push({ layer: have });
      continue;
    }
    const got = await ingestLayer((await Deno.open(p)).readable, {
      compression: compressions[i] ?? "sniff",
      parent: i === 0 ? null : chains[i - 1]!,
      diffId: diffIds[i]!,
      ...(e ? { expect: { digest: e.digest, size: e.size } } : {}),
    });
    // A docker-archive holds uncompressed layers: they are stored as they came.
    out.push({ layer: got.layer, blob: e ? { ...got.blob, mediaType: e.mediaType } : got.blob });
  }
  return out;
}

async function record(
  cfgBytes: Uint8Array,
  layers: Awaited<ReturnType<typeof takeLayers>>,
  manifestBytes: Uint8Array | undefined,
): Promise<Image> {
  const cfg = JSON.parse(new TextDecoder().decode(cfgBytes)) as ImageConfigJSON;
  const configDigest = await putBlob(cfgBytes);
  const manifestDigest = manifestBytes ? await putBlob(manifestBytes) : null;
  return addImage({
    id: hex(configDigest),
    config: cfg.config,
    configDigest,
    manifestDigest,
    ...(cfg.created ? { created: cfg.created } : {}),
    layers,
  });
}

/** What `load` made: each image with the names it got. */
export interface Loaded {
  image: Image;
  names: string[];
}

async function loadDockerArchive(dir: string): Promise<Loaded[]> {
  const list = readJson<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(
    `${dir}/manifest.json`,
    "manifest.json",
  );
  const out: Loaded[] = [];
  for (const m of list) {
    const safe = (p: string) => {
      if (p.split("/").includes("..") || p.startsWith("/")) {
        throw new TsboxError(`manifest.json names ${JSON.stringify(p)} outside the archive`);
      }
      return `${dir}/${p}`;
    };
    const cfgBytes = Deno.readFileSync(safe(m.Config));
    const cfg = JSON.parse(new TextDecoder().decode(cfgBytes)) as ImageConfigJSON;
    const layers = await takeLayers(
      m.Layers.map(safe),
      m.Layers.map(() => "sniff"),
      cfg,
      m.Layers.map(() => undefined),
    );
    const image = await record(cfgBytes, layers, undefined);
    const names = (m.RepoTags ?? []).map((t) => canonical(withDefaultTag(parseReference(t))));
    out.push({ image, names });
  }
  return out;
}

async function loadOciLayout(dir: string): Promise<Loaded[]> {
  const index = readJson<Index>(`${dir}/index.json`, "index.json");
  const blob = (d: string) => `${dir}/blobs/sha256/${hex(d)}`;
  const out: Loaded[] = [];
  const verified = async (d: Descriptor) => {
    const bytes = Deno.readFileSync(blob(d.digest));
    if ((await sha256(bytes)) !== d.digest) {
      throw new TsboxError(`blob ${d.digest}: digest mismatch`);
    }
    return bytes;
  };
  for (const top of index.manifests) {
    let desc = top;
    if (isIndexType(desc.mediaType)) {
      const inner = parseManifestDoc(await verified(desc), desc.mediaType);
      if (inner.kind !== "index") throw new TsboxError("index entry is not an index");
      const pick = selectPlatform(inner.index, hostPlatform());
      if (!pick) throw new TsboxError("no linux/amd64 image in the archive's index");
      desc = pick;
    }
    const manifestBytes = await verified(desc);
    const doc = parseManifestDoc(manifestBytes, desc.mediaType);
    if (doc.kind !== "manifest") throw new TsboxError("nested indexes are unsupported");
    const m: Manifest = doc.manifest;
    const cfgBytes = await verified(m.config);
    const cfg = JSON.parse(new TextDecoder().decode(cfgBytes)) as ImageConfigJSON;
    const layers = await takeLayers(
      m.layers.map((l) => blob(l.digest)),
      m.layers.map((l) => layerCompression(l.mediaType)),
      cfg,
      m.layers,
    );
    const image = await record(cfgBytes, layers, manifestBytes);
    const ref = top.annotations?.["io.containerd.image.name"] ??
      top.annotations?.["org.opencontainers.image.ref.name"];
    const names: string[] = [];
    if (ref) {
      try {
        names.push(canonical(withDefaultTag(parseReference(ref))));
      } catch {
        // A bare tag ("latest"), as skopeo writes: it names nothing by itself.
      }
    }
    out.push({ image, names });
  }
  return out;
}

/** Loads the images of a docker-archive or OCI archive; tags them; returns them. */
export async function loadArchive(file: string): Promise<Loaded[]> {
  const dir = tmpPath("load");
  Deno.mkdirSync(dir, { mode: 0o700 });
  try {
    await unpackFiles(file, dir);
    let loaded: Loaded[];
    const has = (p: string) => {
      try {
        return Deno.statSync(`${dir}/${p}`).isFile;
      } catch {
        return false;
      }
    };
    if (has("manifest.json")) loaded = await loadDockerArchive(dir);
    else if (has("index.json") && has("oci-layout")) loaded = await loadOciLayout(dir);
    else throw new TsboxError("not an image archive: no manifest.json or OCI index.json");
    for (const l of loaded) for (const n of l.names) tagImage(l.image.id, n);
    return loaded;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
