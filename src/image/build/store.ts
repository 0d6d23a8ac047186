// The builder's store (store_port.ts) on tsbox's layered image store: images
// and names (../store.ts), layers by chain id (../layers.ts), config blobs
// (../blobs.ts), pulls (../pull.ts). An overlay upper dir becomes a layer
// without a round trip through a tarball: its OCI changeset is written once
// to compute the diff id (overlay whiteouts as `.wh.` entries, overlay's own
// xattrs left out: the bytes `save` and `push` will produce), then the
// directory itself is moved into the layer store. Also `builder prune` and
// the build cache's line of `system df`.

import { NotFoundError } from "../../errors.ts";
import { putBlobJson, tmpPath } from "../blobs.ts";
import { Hasher, hex, sha256 } from "../digest.ts";
import { imageConfigDoc } from "../inspect.ts";
import { commitLayer, getLayer, listLayers } from "../layers.ts";
import type { ImageConfigJSON } from "../oci.ts";
import {
  addImage,
  findImage,
  getImage,
  type Image,
  imageLowerDirs,
  normalizeName,
  removeImage,
  tagImage,
} from "../store.ts";
import { writeTree } from "../tar_write.ts";
import {
  buildResults,
  cacheClear,
  cacheEntries,
  intermediateImages,
} from "../../state/build_cache.ts";
import { state } from "../../state/db.ts";
import { cacheMountsDir } from "./run_step.ts";

/** Bytes of the files under `path` (not following links); 0 when it is missing. */
function diskUsage(path: string): number {
  let total = 0;
  const walk = (p: string) => {
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(p);
    } catch {
      return;
    }
    if (st.isFile) total += st.size;
    if (st.isDirectory) { for (const e of Deno.readDirSync(p)) walk(`${p}/${e.name}`); }
  };
  walk(path);
  return total;
}
import type { BuildStore, ImageDoc, StoreImage, StoreLayer } from "./store_port.ts";

function toStoreImage(img: Image): StoreImage {
  return {
    id: img.id,
    doc: imageConfigDoc(img) as ImageDoc,
    layers: img.layers.map((chainId) => {
      const l = getLayer(chainId);
      if (!l) throw new NotFoundError(`image ${img.id.slice(0, 12)}: layer ${chainId} is missing`);
      return { chainId, diffId: l.diffId, size: l.size };
    }),
  };
}

/** Prints a pull's progress as Docker's plain lines. */
function pullPrinter(): (e: { kind: string; [k: string]: unknown }) => void {
  return (e) => {
    if (e.kind === "layer" && typeof e.status === "string" && /complete|exists/i.test(e.status)) {
      console.log(`${String(e.id).slice(0, 12)}: ${e.status}`);
    }
  };
}

/** The layered store, for `tsbox build`. */
export function layeredStore(): BuildStore {
  return {
    findLocal(ref) {
      try {
        return toStoreImage(findImage(ref));
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
    async pull(ref, quiet) {
      const { pullImage } = await import("../pull.ts");
      if (!quiet) console.log(`Pulling ${ref}`);
      const r = await pullImage(ref, quiet ? {} : { onEvent: pullPrinter() });
      return toStoreImage(r.image);
    },
    image(id) {
      const img = getImage(id);
      return img ? toStoreImage(img) : undefined;
    },
    lowerDirs(img) {
      const i = getImage(img.id);
      if (!i) throw new NotFoundError(`image ${img.id.slice(0, 12)} is gone`);
      return imageLowerDirs(i);
    },
    tempDir(what) {
      const p = tmpPath(what);
      Deno.mkdirSync(p, { mode: 0o700 });
      return p;
    },
    async commitUpper(upper, parent) {
      const h = await Hasher.create();
      let entries = 0;
      const size = writeTree(upper, (c) => h.update(c), {
        overlayUpper: true,
        onEntry: (rel) => {
          if (rel) entries++;
        },
      });
      if (!entries) {
        Deno.removeSync(upper, { recursive: true });
        return null;
      }
      const diffId = h.digest();
      const chainId = parent ? await sha256(`${parent} ${diffId}`) : diffId;
      const tmp = tmpPath("build-layer");
      Deno.mkdirSync(tmp, { mode: 0o700 });
      try {
        Deno.renameSync(upper, `${tmp}/diff`);
      } catch (e) {
        Deno.removeSync(tmp, { recursive: true });
        throw e;
      }
      const layer = commitLayer({ tmp, diffId, size, entries }, chainId, parent);
      return { chainId: layer.chainId, diffId: layer.diffId, size: layer.size };
    },
    async putImage(doc, layers, parent) {
      const cfg = await putBlobJson(doc as ImageConfigJSON);
      const img = addImage({
        id: hex(cfg.digest),
        config: doc.config,
        configDigest: cfg.digest,
        manifestDigest: null,
        ...(doc.created ? { created: doc.created } : {}),
        parent,
        layers: layers.map((l: StoreLayer) => {
          const layer = getLayer(l.chainId);
          if (!layer) throw new NotFoundError(`layer ${l.chainId} is missing`);
          return { layer };
        }),
      });
      return toStoreImage(img);
    },
    normalizeTag: normalizeName,
    tag: tagImage,
  };
}

function unusedIntermediates(): string[] {
  const used = new Set(
    state().all<{ image_id: string | null }>("SELECT image_id FROM containers").map((r) =>
      r.image_id
    ),
  );
  return [...intermediateImages()].filter((id) => {
    const img = getImage(id);
    return img !== undefined && !img.names.length && !used.has(id);
  });
}

/**
 * `builder prune`: forgets every cache entry, removes the intermediate
 * images no one uses and the RUN --mount=type=cache directories.
 */
export function pruneBuildCache(): { removed: string[]; reclaimed: number } {
  const doomed = unusedIntermediates();
  const before = new Map(listLayers().map((l) => [l.chainId, l.size]));
  cacheClear();
  const removed: string[] = [];
  for (const id of doomed) {
    try {
      removeImage(id, false);
      removed.push(id);
    } catch { /* used meanwhile */ }
  }
  const after = new Set(listLayers().map((l) => l.chainId));
  let reclaimed = 0;
  for (const [c, size] of before) if (!after.has(c)) reclaimed += size;
  reclaimed += diskUsage(cacheMountsDir());
  try {
    Deno.removeSync(cacheMountsDir(), { recursive: true });
  } catch { /* none */ }
  return { removed, reclaimed };
}

/** The build cache's line of `system df`: entries, and the bytes only its images hold. */
export function buildCacheUsage(): { total: number; size: number; reclaimable: number } {
  const mine = new Set(unusedIntermediates());
  const kept = new Set<string>();
  const cached = new Set<string>();
  const results = buildResults();
  for (
    const row of state().all<{ image_id: string; chain_id: string }>(
      "SELECT image_id, chain_id FROM image_layers",
    )
  ) {
    if (mine.has(row.image_id) && !results.has(row.image_id)) cached.add(row.chain_id);
    else kept.add(row.chain_id);
  }
  let size = 0;
  for (const c of cached) if (!kept.has(c)) size += getLayer(c)?.size ?? 0;
  const total = cacheEntries().filter((e) => getImage(e.imageId) !== undefined).length;
  return { total, size, reclaimable: size };
}
