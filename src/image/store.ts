// The image store: `tsbox import` unpacks a root filesystem tarball (with
// extract.ts, which refuses entries that leave the root) into
// $TSBOX_ROOT/images/<id>/rootfs and records the image and its names in the
// state database; `images` lists them; `rmi` removes them.

import { NotFoundError, TsboxError, UsageError } from "../errors.ts";
import { imageDir, stateRoot } from "../paths.ts";
import { now, state } from "../state/db.ts";
import type { ImageConfig } from "../spec/from_run.ts";

/** An image in the store. */
export interface Image {
  /** sha256 of the archive's sha256 and the config, hex. */
  id: string;
  names: string[];
  created: string;
  /** Bytes of file data. */
  size: number;
  config: ImageConfig;
  /** The unpacked root filesystem. */
  rootfs: string;
}

/** "busybox" -> "busybox:latest"; validates the reference. */
export function normalizeName(ref: string): string {
  if (!/^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(ref)) {
    throw new UsageError(
      `invalid reference format: ${JSON.stringify(ref)} (lower-case name, optional :tag)`,
    );
  }
  return ref.includes(":") ? ref : `${ref}:latest`;
}

// node:crypto is loaded only by `import`: it costs ~10 ms of startup that `run` need not pay.
async function sha256File(path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  const f = await Deno.open(path);
  try {
    for await (const chunk of f.readable) h.update(chunk);
  } catch (e) {
    throw new TsboxError(`read ${JSON.stringify(path)}`, { cause: e });
  }
  return h.digest("hex");
}

interface ImageRow {
  id: string;
  created: string;
  size: number;
  config: string;
}

function toImage(r: ImageRow): Image {
  const names = state().all<{ name: string }>(
    "SELECT name FROM image_names WHERE image_id = ? ORDER BY name",
    r.id,
  )
    .map((n) => n.name);
  return {
    id: r.id,
    names,
    created: r.created,
    size: r.size,
    config: JSON.parse(r.config),
    rootfs: `${imageDir(r.id)}/rootfs`,
  };
}

/**
 * Imports a root filesystem tarball (.tar or .tar.gz) as image `name`.
 * Requires root (file ownership, device nodes).
 */
export async function importImage(file: string, name: string, config: ImageConfig): Promise<Image> {
  const ref = normalizeName(name);
  try {
    Deno.statSync(file);
  } catch (e) {
    throw new TsboxError(`open ${JSON.stringify(file)}`, { cause: e });
  }
  // Like Docker's image id, it covers the config too: the same archive
  // imported with other --change instructions is another image.
  const { createHash } = await import("node:crypto");
  const id = createHash("sha256").update(`${await sha256File(file)}\n${JSON.stringify(config)}`)
    .digest("hex");
  const dir = imageDir(id);
  const have = state().get<ImageRow>("SELECT * FROM images WHERE id = ?", id);
  if (!have) {
    Deno.mkdirSync(`${stateRoot()}/images`, { recursive: true, mode: 0o700 });
    const tmp = Deno.makeTempDirSync({ dir: `${stateRoot()}/images`, prefix: ".import-" });
    try {
      Deno.mkdirSync(`${tmp}/rootfs`, { mode: 0o755 });
      const { extractTar } = await import("./extract.ts");
      const { bytes } = await extractTar(await Deno.open(file), `${tmp}/rootfs`);
      Deno.writeTextFileSync(`${tmp}/config.json`, JSON.stringify(config));
      try {
        Deno.renameSync(tmp, dir);
      } catch {
        // A parallel import of the same archive won the race: keep theirs.
        Deno.removeSync(tmp, { recursive: true });
      }
      state().run(
        "INSERT OR IGNORE INTO images (id, created, size, config) VALUES (?, ?, ?, ?)",
        id,
        now(),
        bytes,
        JSON.stringify(config),
      );
    } catch (e) {
      Deno.removeSync(tmp, { recursive: true });
      throw new TsboxError(`import ${JSON.stringify(file)}`, { cause: e });
    }
  }
  state().run("INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)", ref, id);
  return toImage(state().get<ImageRow>("SELECT * FROM images WHERE id = ?", id)!);
}

/** Every image, newest first. */
export function listImages(): Image[] {
  return state().all<ImageRow>("SELECT * FROM images ORDER BY created DESC").map(toImage);
}

/** The image named `ref` (name[:tag], or an id prefix); throws NotFoundError. */
export function findImage(ref: string): Image {
  const byName = /^[a-z0-9]/.test(ref) && !/^[0-9a-f]{6,64}$/.test(ref) ? normalizeName(ref) : ref;
  const named = state().get<ImageRow>(
    "SELECT images.* FROM images JOIN image_names ON image_names.image_id = images.id WHERE image_names.name = ?",
    byName,
  );
  if (named) return toImage(named);
  const id = ref.replace(/^sha256:/, "");
  if (/^[0-9a-f]{4,64}$/.test(id)) {
    const rows = state().all<ImageRow>("SELECT * FROM images WHERE id LIKE ?", `${id}%`);
    if (rows.length === 1) return toImage(rows[0]!);
    if (rows.length > 1) {
      throw new UsageError(`image id prefix ${JSON.stringify(ref)} is ambiguous`);
    }
  }
  throw new NotFoundError(
    `unable to find image ${
      JSON.stringify(ref)
    } locally (import one with \`tsbox import FILE NAME\`)`,
  );
}

/** Removes a name, and the image when no name is left (or by id). Refuses images used by containers unless forced. */
export function removeImage(ref: string, force: boolean): string[] {
  const img = findImage(ref);
  const out: string[] = [];
  return state().tx(() => {
    const byName = img.names.includes(ref.includes(":") ? ref : `${ref}:latest`);
    if (byName && img.names.length > 1) {
      const name = ref.includes(":") ? ref : `${ref}:latest`;
      state().run("DELETE FROM image_names WHERE name = ?", name);
      return [`Untagged: ${name}`];
    }
    const users = state().all<{ name: string }>(
      "SELECT name FROM containers WHERE image_id = ?",
      img.id,
    );
    if (users.length && !force) {
      throw new TsboxError(
        `unable to remove image ${ref}: it is used by container${users.length > 1 ? "s" : ""} ${
          users.map((u) => u.name).join(", ")
        } (use -f, or remove ${users.length > 1 ? "them" : "it"} first)`,
        { exitCode: 1 },
      );
    }
    for (const n of img.names) out.push(`Untagged: ${n}`);
    state().run("DELETE FROM image_names WHERE image_id = ?", img.id);
    // Forced while containers use it: the image stays, nameless, until they are gone.
    if (users.length) return out;
    state().run("DELETE FROM images WHERE id = ?", img.id);
    Deno.removeSync(imageDir(img.id), { recursive: true });
    out.push(`Deleted: sha256:${img.id}`);
    return out;
  });
}
