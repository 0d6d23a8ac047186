// Images imported before layers (state migration 2) are one root filesystem
// directory, images/<id>/rootfs. They move into the layered store once: the
// directory becomes a layer (renamed, not copied; its diff id is the sha256
// of the tar archive tar_write.ts makes of it, so pack.ts can make that blob
// again for push and save), and the image gets a config blob. The image
// keeps its id, so containers made from it keep working.

import { imageDir } from "../paths.ts";
import { state } from "../state/db.ts";
import { putBlobJson } from "./blobs.ts";
import { Hasher } from "./digest.ts";
import { commitLayer, getLayer } from "./layers.ts";
import type { ImageConfigJSON } from "./oci.ts";
import { writeTree } from "./tar_write.ts";

/** Moves every legacy image into the layered store; a failure leaves that image as it was. */
export async function migrateLegacyImages(): Promise<void> {
  const rows = state().all<{ id: string; created: string; config: string; size: number }>(
    "SELECT id, created, config, size FROM images WHERE layout = 'legacy'",
  );
  for (const r of rows) {
    const rootfs = `${imageDir(r.id)}/rootfs`;
    const h = await Hasher.create();
    let bytes = 0;
    try {
      bytes = writeTree(rootfs, (c) => h.update(c), { overlayUpper: true });
    } catch {
      continue; // unreadable: it keeps working as a single directory
    }
    const diffId = h.digest();
    if (!getLayer(diffId)) {
      // commitLayer renames <tmp> to layers/<hex>: give it the rootfs as <tmp>/diff.
      const tmp = `${imageDir(r.id)}/layer`;
      Deno.mkdirSync(tmp, { recursive: true, mode: 0o700 });
      Deno.renameSync(rootfs, `${tmp}/diff`);
      commitLayer({ tmp, diffId, size: bytes, entries: 0 }, diffId, null);
    }
    const doc: ImageConfigJSON = {
      created: r.created,
      architecture: "amd64",
      os: "linux",
      config: JSON.parse(r.config),
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created: r.created, created_by: "tsbox import (before layers)" }],
    };
    const cfg = await putBlobJson(doc);
    state().tx(() => {
      state().run(
        "INSERT OR REPLACE INTO image_layers (image_id, position, chain_id) VALUES (?, 0, ?)",
        r.id,
        diffId,
      );
      state().run(
        "UPDATE images SET layout = 'layers', config_digest = ?, size = ? WHERE id = ?",
        cfg.digest,
        bytes,
        r.id,
      );
    });
    Deno.removeSync(imageDir(r.id), { recursive: true });
  }
}

/** Whether any legacy image is left (a cheap check before loading the migration). */
export function hasLegacyImages(): boolean {
  return state().get("SELECT 1 AS x FROM images WHERE layout = 'legacy' LIMIT 1") !== undefined;
}

/** Brings the store up to date before an image verb: legacy images move in, once. */
export async function prepareStore(): Promise<void> {
  if (hasLegacyImages()) await migrateLegacyImages();
}
