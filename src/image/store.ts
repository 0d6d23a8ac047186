// The image store: an image is a config (blobs/), an ordered list of layers
// (layers.ts, shared by chain id) and, when it came from a registry or was
// made here, a manifest (blobs/). Names ("docker.io/library/debian:latest")
// and repo digests point at images; containers point at image ids. `rmi`
// untags, and deletes an image only when no name and no container uses it;
// then layers and blobs that no image references are collected.
//
// Images imported before layers existed (state migration 2) are one rootfs
// directory, images/<id>/rootfs: they keep working as a single lower layer.

import { NotFoundError, TsboxError, UsageError } from "../errors.ts";
import { imageDir } from "../paths.ts";
import { now, state } from "../state/db.ts";
import type { ImageConfig } from "../spec/from_run.ts";
import { listBlobs, removeBlob } from "./blobs.ts";
import { getLayer, type Layer, layerPath, listLayers, removeLayer } from "./layers.ts";
import type { ContainerConfigJSON } from "./oci.ts";
import {
  canonical,
  parseReference,
  type Reference,
  repository,
  withDefaultTag,
} from "./registry/reference.ts";

/** The runtime config of an image, as `run` reads it. */
export type RuntimeConfig = ImageConfig & {
  Volumes?: Record<string, Record<string, never>>;
  StopSignal?: string;
};

/** An image in the store. */
export interface Image {
  /** The hex sha256 of its config (Docker's image id). */
  id: string;
  /** Canonical names: "docker.io/library/debian:latest". */
  names: string[];
  /** Repo digests: "docker.io/library/debian@sha256:...". */
  digests: string[];
  created: string;
  /** Bytes of file data in its layers. */
  size: number;
  config: RuntimeConfig;
  /** Chain ids of its layers, base first ([] for a legacy image). */
  layers: string[];
  configDigest: string | null;
  manifestDigest: string | null;
  parent: string | null;
  comment: string | null;
  /** A legacy image's single root filesystem directory. */
  legacyRootfs?: string;
}

interface ImageRow {
  id: string;
  created: string;
  size: number;
  config: string;
  config_digest: string | null;
  manifest_digest: string | null;
  parent: string | null;
  comment: string | null;
  layout: string;
}

/** Drops JSON nulls (an image config may say "Cmd": null) so `run` sees absent fields. */
export function runtimeConfig(c: ContainerConfigJSON | undefined): RuntimeConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c ?? {})) if (v !== null && v !== undefined) out[k] = v;
  return out as RuntimeConfig;
}

function toImage(r: ImageRow): Image {
  const names = state().all<{ name: string }>(
    "SELECT name FROM image_names WHERE image_id = ? ORDER BY name",
    r.id,
  ).map((n) => n.name);
  const digests = state().all<{ repo: string; digest: string }>(
    "SELECT repo, digest FROM image_digests WHERE image_id = ? ORDER BY repo",
    r.id,
  ).map((d) => `${d.repo}@${d.digest}`);
  const layers = state().all<{ chain_id: string }>(
    "SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY position",
    r.id,
  ).map((l) => l.chain_id);
  const img: Image = {
    id: r.id,
    names,
    digests,
    created: r.created,
    size: r.size,
    config: runtimeConfig(JSON.parse(r.config)),
    layers,
    configDigest: r.config_digest,
    manifestDigest: r.manifest_digest,
    parent: r.parent,
    comment: r.comment,
  };
  if (r.layout === "legacy") img.legacyRootfs = `${imageDir(r.id)}/rootfs`;
  return img;
}

/** Parses a name as Docker does and adds ":latest" when it has no tag: the stored form. */
export function normalizeName(ref: string): string {
  const r = parseReference(ref);
  if (r.digest !== undefined) {
    throw new UsageError(`invalid reference ${JSON.stringify(ref)}: a name cannot have a digest`);
  }
  return canonical(withDefaultTag(r));
}

/** Every image, newest first. */
export function listImages(): Image[] {
  return state().all<ImageRow>("SELECT * FROM images ORDER BY created DESC").map(toImage);
}

/** The image with this exact id (hex), or undefined. */
export function getImage(id: string): Image | undefined {
  const r = state().get<ImageRow>("SELECT * FROM images WHERE id = ?", id);
  return r ? toImage(r) : undefined;
}

/** The image a parsed reference names (by tag or digest), or undefined. */
export function lookupReference(r: Reference): Image | undefined {
  let row: ImageRow | undefined;
  if (r.digest !== undefined) {
    row = state().get<ImageRow>(
      "SELECT images.* FROM images JOIN image_digests d ON d.image_id = images.id WHERE d.repo = ? AND d.digest = ?",
      repository(r),
      r.digest,
    ) ?? state().get<ImageRow>(
      "SELECT * FROM images WHERE manifest_digest = ? AND id IN (SELECT image_id FROM image_names WHERE name LIKE ? ESCAPE '\\')",
      r.digest,
      `${repository(r).replace(/[\\%_]/g, "\\$&")}:%`,
    );
  } else {
    row = state().get<ImageRow>(
      "SELECT images.* FROM images JOIN image_names ON image_names.image_id = images.id WHERE image_names.name = ?",
      canonical(withDefaultTag(r)),
    );
  }
  return row ? toImage(row) : undefined;
}

/** No image by that name or id in the store (`run` pulls it then, as Docker). */
export class ImageNotFoundError extends NotFoundError {
  override readonly name: string = "ImageNotFoundError";
}

/** The image named `ref` (name[:tag], name@digest, or an id or id prefix); throws NotFoundError. */
export function findImage(ref: string): Image {
  const idLike = /^(sha256:)?[0-9a-f]{4,64}$/.test(ref);
  let parsed: Reference | undefined;
  try {
    parsed = parseReference(ref);
  } catch (e) {
    if (!idLike) throw e;
  }
  if (parsed) {
    const img = lookupReference(parsed);
    if (img) return img;
  }
  if (idLike) {
    const id = ref.replace(/^sha256:/, "");
    const rows = state().all<ImageRow>("SELECT * FROM images WHERE id LIKE ?", `${id}%`);
    if (rows.length === 1) return toImage(rows[0]!);
    if (rows.length > 1) {
      throw new UsageError(`image id prefix ${JSON.stringify(ref)} is ambiguous`);
    }
  }
  throw new ImageNotFoundError(`unable to find image ${JSON.stringify(ref)} locally`);
}

/**
 * The overlay lower directories of an image, topmost first (overlayfs'
 * lowerdir order). Throws when a layer is missing from the store.
 */
export function imageLowerDirs(img: Image): string[] {
  if (img.legacyRootfs) return [img.legacyRootfs];
  return img.layers.map((c) => {
    if (!getLayer(c)) throw new TsboxError(`image ${img.id.slice(0, 12)}: layer ${c} is missing`);
    return layerPath(c);
  }).reverse();
}

/**
 * Reads a small file of the image's merged tree (e.g. /etc/passwd), the way
 * overlay shows it: the topmost layer that has the path wins; a whiteout
 * hides it. Symlinks are not followed (the file is treated as absent).
 */
export function readImageFile(img: Image, path: string): string | undefined {
  const parts = path.split("/").filter(Boolean);
  for (const dir of imageLowerDirs(img)) {
    for (let i = 1; i <= parts.length; i++) {
      const p = `${dir}/${parts.slice(0, i).join("/")}`;
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(p);
      } catch {
        break; // not in this layer: look below
      }
      if (st.isCharDevice && st.rdev === 0) return undefined; // whiteout
      // A symlink is the image's, to be resolved in the container's root: never followed on the host.
      if (st.isSymlink) return undefined;
      if (i < parts.length) continue;
      if (!st.isFile) return undefined;
      try {
        return Deno.readTextFileSync(p);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** What a new image is made of. */
export interface NewImage {
  id: string;
  config: ContainerConfigJSON | undefined;
  configDigest: string;
  manifestDigest: string | null;
  created?: string;
  parent?: string | null;
  comment?: string | null;
  /** Its layers, base first, with the blob each came from (for push and save). */
  layers: { layer: Layer; blob?: { digest: string; mediaType: string; size: number } }[];
}

/** Records an image (its layers must be stored already); an existing image is kept. */
export function addImage(n: NewImage): Image {
  state().tx(() => {
    if (state().get("SELECT id FROM images WHERE id = ?", n.id)) {
      if (n.manifestDigest) {
        state().run(
          "UPDATE images SET manifest_digest = coalesce(manifest_digest, ?) WHERE id = ?",
          n.manifestDigest,
          n.id,
        );
      }
      return;
    }
    state().run(
      "INSERT INTO images (id, created, size, config, config_digest, manifest_digest, parent, comment, layout) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'layers')",
      n.id,
      n.created ?? now(),
      n.layers.reduce((a, l) => a + l.layer.size, 0),
      JSON.stringify(n.config ?? {}),
      n.configDigest,
      n.manifestDigest,
      n.parent ?? null,
      n.comment ?? null,
    );
    n.layers.forEach((l, i) =>
      state().run(
        "INSERT INTO image_layers (image_id, position, chain_id, blob, media_type, blob_size) VALUES (?, ?, ?, ?, ?, ?)",
        n.id,
        i,
        l.layer.chainId,
        l.blob?.digest ?? null,
        l.blob?.mediaType ?? null,
        l.blob?.size ?? null,
      )
    );
  });
  return getImage(n.id)!;
}

/** The blob each layer of an image came from (null when it was made here and not yet packed). */
export function layerBlobs(
  img: Image,
): { chainId: string; digest: string | null; mediaType: string | null; size: number | null }[] {
  return state().all<
    { chain_id: string; blob: string | null; media_type: string | null; blob_size: number | null }
  >(
    "SELECT chain_id, blob, media_type, blob_size FROM image_layers WHERE image_id = ? ORDER BY position",
    img.id,
  ).map((r) => ({
    chainId: r.chain_id,
    digest: r.blob,
    mediaType: r.media_type,
    size: r.blob_size,
  }));
}

/** Records the blob a layer of an image is packed as (after `save` or `push` packed it). */
export function setLayerBlob(
  imageId: string,
  position: number,
  blob: { digest: string; mediaType: string; size: number },
): void {
  state().run(
    "UPDATE image_layers SET blob = ?, media_type = ?, blob_size = ? WHERE image_id = ? AND position = ?",
    blob.digest,
    blob.mediaType,
    blob.size,
    imageId,
    position,
  );
}

/** Sets the manifest an image is known by (after push or save made one). */
export function setManifest(imageId: string, digest: string): void {
  state().run("UPDATE images SET manifest_digest = ? WHERE id = ?", digest, imageId);
}

/** Points `name` (canonical) at an image, taking it from any image that had it. */
export function tagImage(imageId: string, name: string): void {
  state().run("INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)", name, imageId);
}

/** Records that `repo@digest` is this image (RepoDigests). */
export function addRepoDigest(imageId: string, repo: string, digest: string): void {
  state().run(
    "INSERT OR REPLACE INTO image_digests (repo, digest, image_id) VALUES (?, ?, ?)",
    repo,
    digest,
    imageId,
  );
}

function containersUsing(id: string): { name: string; status: string }[] {
  return state().all<{ name: string; status: string }>(
    "SELECT name, status FROM containers WHERE image_id = ?",
    id,
  );
}

function deleteImage(img: Image): void {
  state().tx(() => {
    state().run("DELETE FROM image_names WHERE image_id = ?", img.id);
    state().run("DELETE FROM image_digests WHERE image_id = ?", img.id);
    state().run("DELETE FROM image_layers WHERE image_id = ?", img.id);
    state().run("DELETE FROM images WHERE id = ?", img.id);
  });
  if (img.legacyRootfs) Deno.removeSync(imageDir(img.id), { recursive: true });
}

/**
 * Removes a name, and the image when nothing else names it (or by id);
 * returns Docker's "Untagged:" / "Deleted:" lines. An image a container uses
 * is refused unless `force` (then only its names go; it is deleted with its
 * last container, by `system prune` or a later `rmi`).
 */
export function removeImage(ref: string, force: boolean): string[] {
  const img = findImage(ref);
  let parsed: Reference | undefined;
  try {
    parsed = parseReference(ref);
  } catch { /* an id */ }
  const name = parsed && parsed.digest === undefined
    ? canonical(withDefaultTag(parsed))
    : undefined;
  const byName = name !== undefined && img.names.includes(name);
  const out: string[] = [];
  const untag = (n: string) => {
    state().run("DELETE FROM image_names WHERE name = ?", n);
    out.push(`Untagged: ${familiarName(n)}`);
  };
  if (byName && img.names.length > 1) {
    untag(name);
    return out;
  }
  const users = containersUsing(img.id);
  if (users.length && !force) {
    throw new TsboxError(
      `unable to remove image ${ref}: it is used by container${users.length > 1 ? "s" : ""} ${
        users.map((u) => u.name).join(", ")
      } (use -f, or remove ${users.length > 1 ? "them" : "it"} first)`,
      { exitCode: 1 },
    );
  }
  if (!byName && img.names.length > 1 && !force) {
    throw new TsboxError(
      `unable to delete ${
        img.id.slice(0, 12)
      } (must be forced): image is referenced in multiple repositories`,
      { exitCode: 1 },
    );
  }
  for (const n of img.names) untag(n);
  for (const d of img.digests) out.push(`Untagged: ${familiarName(d)}`);
  if (users.length) {
    state().run("DELETE FROM image_digests WHERE image_id = ?", img.id);
    return out; // forced while containers use it: kept, nameless, until they are gone
  }
  deleteImage(img);
  out.push(`Deleted: sha256:${img.id}`);
  out.push(...collectGarbage().map((c) => `Deleted: ${c}`));
  return out;
}

/**
 * Removes layers no image uses and blobs no image references (a manifest,
 * a config, a layer blob). Returns the chain ids of the removed layers.
 */
export function collectGarbage(): string[] {
  const usedLayers = new Set(
    state().all<{ chain_id: string }>("SELECT DISTINCT chain_id FROM image_layers").map((r) =>
      r.chain_id
    ),
  );
  const removed: string[] = [];
  for (const l of listLayers()) {
    if (usedLayers.has(l.chainId)) continue;
    removeLayer(l.chainId);
    removed.push(l.chainId);
  }
  const usedBlobs = new Set<string>();
  for (
    const r of state().all<{ a: string | null; b: string | null }>(
      "SELECT config_digest AS a, manifest_digest AS b FROM images",
    )
  ) {
    if (r.a) usedBlobs.add(r.a);
    if (r.b) usedBlobs.add(r.b);
  }
  for (const r of state().all<{ blob: string | null }>("SELECT blob FROM image_layers")) {
    if (r.blob) usedBlobs.add(r.blob);
  }
  for (const b of listBlobs()) if (!usedBlobs.has(b)) removeBlob(b);
  return removed;
}

/** "docker.io/library/debian:latest" -> "debian:latest", as Docker prints names. */
export function familiarName(name: string): string {
  const prefix = "docker.io/library/";
  if (name.startsWith(prefix) && !name.slice(prefix.length).includes("/")) {
    return name.slice(prefix.length);
  }
  return name.startsWith("docker.io/") ? name.slice("docker.io/".length) : name;
}

/** Removes unused images (nameless only, unless `all`); returns Docker's lines. */
export function pruneImages(all: boolean): string[] {
  const used = new Set(
    state().all<{ image_id: string | null }>("SELECT image_id FROM containers").map((r) =>
      r.image_id
    ),
  );
  const out: string[] = [];
  for (const img of listImages()) {
    if (used.has(img.id) || (!all && img.names.length)) continue;
    for (const n of img.names) out.push(`Untagged: ${familiarName(n)}`);
    deleteImage(img);
    out.push(`Deleted: sha256:${img.id}`);
  }
  out.push(...collectGarbage().map((c) => `Deleted: ${c}`));
  return out;
}

/**
 * Disk use of the images, each layer counted once however many images share
 * it; reclaimable is what no image a container uses holds.
 */
export function imagesDiskUsage(
  usedImages: ReadonlySet<string>,
): { size: number; reclaimable: number } {
  const layerSize = new Map(listLayers().map((l) => [l.chainId, l.size]));
  const all = new Set<string>(), used = new Set<string>();
  let legacy = 0, legacyUsed = 0;
  for (const img of listImages()) {
    if (img.legacyRootfs) {
      legacy += img.size;
      if (usedImages.has(img.id)) legacyUsed += img.size;
    }
    for (const c of img.layers) {
      all.add(c);
      if (usedImages.has(img.id)) used.add(c);
    }
  }
  const sum = (s: Set<string>) => [...s].reduce((a, c) => a + (layerSize.get(c) ?? 0), 0);
  const size = sum(all) + legacy;
  return { size, reclaimable: size - sum(used) - legacyUsed };
}

/** Any stored blob some image recorded for this layer (another image may have pulled it). */
export function storedLayerBlob(
  chainId: string,
  has: (digest: string) => boolean,
): { digest: string; mediaType: string; size: number } | undefined {
  for (
    const r of state().all<{ blob: string; media_type: string; blob_size: number }>(
      "SELECT blob, media_type, blob_size FROM image_layers WHERE chain_id = ? AND blob IS NOT NULL",
      chainId,
    )
  ) {
    if (has(r.blob)) return { digest: r.blob, mediaType: r.media_type, size: r.blob_size };
  }
  return undefined;
}
