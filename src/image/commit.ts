// Containers' filesystems as images and archives: `commit` turns a
// container's overlay upper dir into a new layer on top of its image's
// (overlay whiteouts become `.wh.` entries again, opaque directories
// `.wh..wh..opq`); `diff` lists what the upper dir changed (A/C/D, as
// Docker); `export` writes the merged filesystem, read from a read-only
// overlay mounted in a staging mount namespace that only this thread sees.

import { TsboxError } from "../errors.ts";
import { mountOverlay } from "../mount/rootfs.ts";
import { Staging } from "../mount/staging.ts";
import { containerDir } from "../paths.ts";
import { NO_TRACE } from "../runtime/trace.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { putBlobJson, tmpPath } from "./blobs.ts";
import { hex } from "./digest.ts";
import { imageConfigDoc } from "./inspect.ts";
import { gzip } from "./compress.ts";
import { ingestLayer } from "./ingest.ts";
import { getLayer } from "./layers.ts";
import type { ContainerConfigJSON, ImageConfigJSON, Manifest } from "./oci.ts";
import { MediaType } from "./oci.ts";
import { addImage, getImage, type Image, imageLowerDirs, layerBlobs } from "./store.ts";
import { writeTree } from "./tar_write.ts";

/** Mountpoints tsbox makes in a container's upper dir: not changes of the container's own. */
const MOUNT_STUBS = new Set(["etc/hostname", "etc/hosts", "etc/resolv.conf", "dev", "proc", "sys"]);

/** Whether `rel` is an empty mountpoint stub (what a bind mount or /dev tmpfs covered). */
export function mountStub(rel: string, st: Deno.FileInfo): boolean {
  if (!MOUNT_STUBS.has(rel)) return false;
  if (st.isFile) return st.size === 0;
  return st.isDirectory;
}

function containerImage(rec: ContainerRecord): Image {
  if (!rec.imageId) throw new TsboxError(`container ${rec.name} runs a directory, not an image`);
  const img = getImage(rec.imageId);
  if (!img) throw new TsboxError(`the image of container ${rec.name} is gone`);
  return img;
}

/** Options of `commitContainer`. */
export interface CommitOptions {
  author?: string;
  message?: string;
  /** Config changes (`--change`), merged over the image's. */
  changes?: ContainerConfigJSON;
}

/** Makes an image of a container's changes on top of its image; returns it. */
export async function commitContainer(rec: ContainerRecord, o: CommitOptions = {}): Promise<Image> {
  const base = containerImage(rec);
  const upper = `${containerDir(rec.id)}/upper`;
  const tarFile = tmpPath("commit.tar");
  try {
    const f = Deno.openSync(tarFile, { write: true, createNew: true, mode: 0o600 });
    try {
      writeTree(upper, (c) => {
        let off = 0;
        while (off < c.length) off += f.writeSync(c.subarray(off));
      }, { overlayUpper: true, skip: mountStub });
    } finally {
      f.close();
    }
    const parent = base.layers.length ? base.layers[base.layers.length - 1]! : null;
    if (base.legacyRootfs) {
      throw new TsboxError("commit of an image imported before layers: import it again");
    }
    const ingested = await ingestLayer(gzip((await Deno.open(tarFile)).readable), {
      compression: "gzip",
      parent,
    });
    const baseDoc = imageConfigDoc(base);
    const created = new Date().toISOString();
    const config: ContainerConfigJSON = { ...(baseDoc.config ?? {}), ...(o.changes ?? {}) };
    const doc: ImageConfigJSON = {
      ...baseDoc,
      created,
      ...(o.author ? { author: o.author } : {}),
      config,
      rootfs: {
        type: "layers",
        diff_ids: [...base.layers.map((c) => getLayer(c)!.diffId), ingested.layer.diffId],
      },
      history: [
        ...(baseDoc.history ?? []),
        {
          created,
          created_by: `tsbox commit ${rec.name}`,
          ...(o.message ? { comment: o.message } : {}),
        },
      ],
    };
    const cfg = await putBlobJson(doc);
    const blobs = layerBlobs(base);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
      layers: [
        ...blobs.map((b) => ({
          mediaType: b.mediaType ?? "",
          digest: b.digest ?? "",
          size: b.size ?? 0,
        })),
        {
          mediaType: ingested.blob.mediaType,
          digest: ingested.blob.digest,
          size: ingested.blob.size,
        },
      ],
    };
    const complete = blobs.every((b) => b.digest);
    const man = complete ? await putBlobJson(manifest) : undefined;
    return addImage({
      id: hex(cfg.digest),
      config,
      configDigest: cfg.digest,
      manifestDigest: man?.digest ?? null,
      created,
      parent: base.id,
      ...(o.message ? { comment: o.message } : {}),
      layers: [
        ...blobs.map((b) => ({
          layer: getLayer(b.chainId)!,
          ...(b.digest
            ? { blob: { digest: b.digest, mediaType: b.mediaType!, size: b.size! } }
            : {}),
        })),
        { layer: ingested.layer, blob: ingested.blob },
      ],
    });
  } finally {
    Deno.removeSync(tarFile);
  }
}

/** One line of `diff`: A added, C changed, D deleted. */
export interface Change {
  kind: "A" | "C" | "D";
  path: string;
}

function inLower(lower: string[], rel: string): boolean {
  for (const dir of lower) {
    try {
      const st = Deno.lstatSync(`${dir}/${rel}`);
      return !(st.isCharDevice && st.rdev === 0);
    } catch { /* not in this layer */ }
  }
  return false;
}

/** What a container changed in its image's filesystem, sorted by path. */
export function containerChanges(rec: ContainerRecord): Change[] {
  const img = containerImage(rec);
  const lower = imageLowerDirs(img);
  const out: Change[] = [];
  writeTree(`${containerDir(rec.id)}/upper`, () => {}, {
    overlayUpper: true,
    skip: mountStub,
    onEntry: (rel, kind) => {
      if (!rel || kind === "opaque") return;
      if (kind === "whiteout") out.push({ kind: "D", path: `/${rel}` });
      else out.push({ kind: inLower(lower, rel) ? "C" : "A", path: `/${rel}` });
    },
  });
  return out.sort((a, b) => a.path < b.path ? -1 : 1);
}

/** Writes a container's whole filesystem as a tar archive to `out`. Requires root. */
export function exportContainer(rec: ContainerRecord, out: Deno.FsFile): number {
  const img = containerImage(rec);
  const dir = containerDir(rec.id);
  const lower = [`${dir}/upper`, ...imageLowerDirs(img)];
  const mnt = tmpPath("export");
  const work = tmpPath("export-work");
  const up = tmpPath("export-upper");
  for (const d of [mnt, work, up]) Deno.mkdirSync(d, { mode: 0o700 });
  const staging = Staging.enter(NO_TRACE);
  try {
    // A private overlay: the container's upper dir on top of the image's layers.
    mountOverlay(lower, up, work, mnt, NO_TRACE);
    return writeTree(mnt, (c) => {
      let off = 0;
      while (off < c.length) off += out.writeSync(c.subarray(off));
    });
  } finally {
    staging.leave();
    for (const d of [mnt, work, up]) Deno.removeSync(d, { recursive: true });
  }
}
