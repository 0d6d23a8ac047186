// `tsbox system check` and `system repair`: the state database against the
// directories of the state root and the run root.
//
//   check   reads only: the database opens and passes SQLite's quick_check;
//           every container and image record has its directory and every
//           directory its record, every image its layers; no resource, lease
//           or run directory belongs to a container that is gone.
//   repair  a damaged, empty or missing database is set aside (renamed
//           tsbox.db.damaged-<time>, never deleted) and a new one is rebuilt
//           from the directories: each image config among the blobs whose
//           layers are all there (and each legacy image directory) becomes an
//           image named recovered-<id>, each container directory an exited container
//           recovered-<id> with its OCI spec (config.json); what only the
//           database knew (names, options, networks, groups) is lost, and said
//           so. With a sound database: rows of containers that are gone are
//           deleted, directories without a record are registered as above,
//           and run directories of containers that are gone are removed.

import { DatabaseSync } from "node:sqlite";
import { containerDir, imageDir, runRoot, stateRoot } from "../paths.ts";
import { MIGRATIONS } from "./db.ts";

/** One finding of a check. */
export interface Finding {
  /** "ok", or a problem (repair can fix it or says what it cannot). */
  level: "ok" | "problem";
  text: string;
}

function names(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

function dbPath(): string {
  return `${stateRoot()}/tsbox.db`;
}

/** Opens the database read-only; the error when it cannot be (missing, empty, damaged). */
function openReadOnly(): { db?: DatabaseSync; error?: string } {
  let size: number;
  try {
    size = Deno.statSync(dbPath()).size;
  } catch {
    return { error: "missing" };
  }
  if (size === 0) return { error: "empty (0 bytes)" };
  try {
    const db = new DatabaseSync(dbPath(), { readOnly: true });
    const r = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
    const bad = r.map((x) => x.quick_check).filter((x) => x !== "ok");
    if (bad.length) {
      db.close();
      return { error: `damaged: ${bad.slice(0, 3).join("; ")}` };
    }
    const v = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (v > MIGRATIONS.length) {
      db.close();
      return { error: `of a newer tsbox (schema ${v}, this one knows ${MIGRATIONS.length})` };
    }
    return { db };
  } catch (e) {
    return { error: `damaged: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** What the database and the directories say, side by side. */
interface Survey {
  dbError?: string;
  containerRows: Set<string>;
  imageRows: Set<string>;
  containerDirs: string[];
  /** Legacy images (one root filesystem directory each, before layers). */
  imageDirs: string[];
  /** Images whose layers are missing (layered store). */
  brokenImages: string[];
  /** Layer directories of the store. */
  layerDirs: string[];
  runDirs: string[];
  strayResources: string[];
  strayLeases: string[];
}

function survey(): Survey {
  const s: Survey = {
    containerRows: new Set(),
    imageRows: new Set(),
    containerDirs: names(`${stateRoot()}/containers`),
    imageDirs: names(`${stateRoot()}/images`),
    brokenImages: [],
    layerDirs: names(`${stateRoot()}/layers`),
    runDirs: names(`${runRoot()}/containers`),
    strayResources: [],
    strayLeases: [],
  };
  const { db, error } = openReadOnly();
  if (error !== undefined) {
    s.dbError = error;
    return s;
  }
  try {
    const col = (sql: string) => (db!.prepare(sql).all() as Record<string, string>[]);
    for (const r of col("SELECT id FROM containers")) s.containerRows.add(r.id!);
    for (const r of col("SELECT id FROM images")) s.imageRows.add(r.id!);
    // A layered image needs every layer's directory; a legacy one its rootfs.
    const layers = new Set(s.layerDirs);
    for (
      const r of col(
        "SELECT i.id, i.layout, l.chain_id FROM images i LEFT JOIN image_layers l ON l.image_id = i.id",
      )
    ) {
      const missing = r.layout === "legacy"
        ? !s.imageDirs.includes(r.id!)
        : r.chain_id !== null && !layers.has(r.chain_id!.slice(r.chain_id!.indexOf(":") + 1));
      if (missing && !s.brokenImages.includes(r.id!)) s.brokenImages.push(r.id!);
    }
    s.strayResources = col(
      "SELECT container_id || ' ' || kind || ' ' || key AS x FROM resources WHERE container_id NOT IN (SELECT id FROM containers)",
    ).map((r) => r.x!);
    s.strayLeases = col(
      "SELECT network || ' ' || address || ' ' || container_id AS x FROM leases WHERE container_id NOT IN (SELECT id FROM containers)",
    ).map((r) => r.x!);
  } finally {
    db!.close();
  }
  return s;
}

/** Checks the state root; changes nothing. */
export function checkState(): Finding[] {
  const s = survey();
  const out: Finding[] = [];
  const problem = (text: string) => out.push({ level: "problem", text });
  if (s.dbError !== undefined) {
    problem(`the state database ${dbPath()} is ${s.dbError}`);
    const images = s.imageDirs.length + imageConfigs().length;
    if (s.containerDirs.length + images) {
      problem(
        `${s.containerDirs.length} containers and ${images} images have no readable record: "tsbox system repair" rebuilds them`,
      );
    }
    return out;
  }
  out.push({ level: "ok", text: `the state database ${dbPath()} passes quick_check` });
  for (const id of s.containerRows) {
    if (!s.containerDirs.includes(id)) {
      problem(`container ${id.slice(0, 12)} has no directory ${containerDir(id)}`);
    }
  }
  for (const id of s.containerDirs) {
    if (!s.containerRows.has(id)) problem(`directory ${containerDir(id)} has no container record`);
  }
  for (const id of s.brokenImages) {
    problem(`image ${id.slice(0, 12)} misses its files (a layer or its root filesystem)`);
  }
  for (const id of s.imageDirs) {
    if (!s.imageRows.has(id)) problem(`directory ${imageDir(id)} has no image record`);
  }
  for (const r of s.strayResources) problem(`resource of a removed container: ${r}`);
  for (const l of s.strayLeases) problem(`address lease of a removed container: ${l}`);
  for (const id of s.runDirs) {
    if (!s.containerRows.has(id)) {
      problem(`run directory ${runRoot()}/containers/${id} of a removed container`);
    }
  }
  if (out.length === 1) {
    out.push({
      level: "ok",
      text:
        `${s.containerRows.size} containers and ${s.imageRows.size} images match their directories`,
    });
  }
  return out;
}

/** Bytes of the files under `path`. */
function du(path: string): number {
  let total = 0;
  const walk = (p: string) => {
    try {
      const st = Deno.lstatSync(p);
      total += st.size;
      if (st.isDirectory) { for (const e of Deno.readDirSync(p)) walk(`${p}/${e.name}`); }
    } catch { /* unreadable */ }
  };
  walk(path);
  return total;
}

/** Registers a container directory that has no record, from its config.json. */
function recoverContainer(db: DatabaseSync, id: string, at: string): string {
  let spec: { ociVersion: string } = { ociVersion: "1.0.2" };
  try {
    spec = JSON.parse(Deno.readTextFileSync(`${containerDir(id)}/config.json`));
  } catch { /* none: an empty spec */ }
  // What only the database knew is gone: it can be looked at and removed, not run as before.
  const config = {
    spec,
    rootfs: { kind: "dir", path: `${containerDir(id)}/rootfs` },
    network: { mode: { kind: "none" }, ports: [], publish: [] },
    restart: { name: "no", maxRetries: 0 },
    autoRemove: false,
    openStdin: false,
    labels: {},
    log: { driver: "json-file", opts: {} },
    request: { capAdd: [], capDrop: [], privileged: false, userns: "host" },
  };
  db.prepare(
    `INSERT INTO containers (id, name, image, image_id, status, exit_code, error, created, finished_at, config)
     VALUES (?, ?, '', NULL, 'exited', 255, ?, ?, ?, ?)`,
  ).run(
    id,
    `recovered-${id.slice(0, 12)}`,
    "recovered by tsbox system repair: its name, image and options were lost; remove it with tsbox rm",
    at,
    at,
    JSON.stringify(config),
  );
  db.prepare("INSERT INTO resources (container_id, kind, key, data) VALUES (?, 'dir', ?, '{}')")
    .run(id, containerDir(id));
  return `container ${id.slice(0, 12)} as recovered-${id.slice(0, 12)} (exited; rm it)`;
}

/** The name a recovered image gets (as the store spells names). */
function recoveredName(id: string): string {
  return `docker.io/library/recovered-${id.slice(0, 12)}:latest`;
}

/** Registers a legacy image directory (images/<id>/rootfs) that has no record; its config is lost. */
function recoverLegacyImage(db: DatabaseSync, id: string, at: string): string {
  db.prepare("INSERT INTO images (id, created, size, config) VALUES (?, ?, ?, '{}')").run(
    id,
    at,
    du(`${imageDir(id)}/rootfs`),
  );
  db.prepare("INSERT INTO image_names (name, image_id) VALUES (?, ?)").run(recoveredName(id), id);
  return `image ${id.slice(0, 12)} as recovered-${id.slice(0, 12)} (its config was lost)`;
}

/** An image config blob: its id (the blob's hex digest) and what it says. */
interface ImageConfigBlob {
  id: string;
  doc: { created?: string; config?: unknown; rootfs?: { diff_ids?: string[] } };
}

/** The image configs among the store's blobs (JSON with rootfs.diff_ids). */
function imageConfigs(): ImageConfigBlob[] {
  const dir = `${stateRoot()}/blobs/sha256`;
  const out: ImageConfigBlob[] = [];
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
  } catch { /* no blobs */ }
  for (const hex of entries) {
    try {
      if (Deno.statSync(`${dir}/${hex}`).size > 1 << 20) continue; // a layer, not a config
      const doc = JSON.parse(Deno.readTextFileSync(`${dir}/${hex}`));
      if (Array.isArray(doc?.rootfs?.diff_ids)) out.push({ id: hex, doc });
    } catch { /* not JSON: a layer blob */ }
  }
  return out;
}

/** sha256 of a string, as "sha256:<hex>" (chain ids: sha256("<parent> <diff id>")). */
async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `sha256:${[...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Registers a layered image from its config blob when every layer's directory is there. */
async function recoverLayeredImage(
  db: DatabaseSync,
  c: ImageConfigBlob,
  at: string,
): Promise<string | undefined> {
  const diffIds = c.doc.rootfs!.diff_ids!;
  const chains: string[] = [];
  for (const d of diffIds) chains.push(chains.length ? await sha256(`${chains.at(-1)} ${d}`) : d);
  const dirOf = (chain: string) => `${stateRoot()}/layers/${chain.slice(chain.indexOf(":") + 1)}`;
  if (!chains.every((ch) => names(dirOf(ch)).includes("diff"))) return undefined;
  let size = 0;
  chains.forEach((ch, i) => {
    const bytes = du(`${dirOf(ch)}/diff`);
    size += bytes;
    db.prepare(
      "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size, created) VALUES (?, ?, ?, ?, ?)",
    ).run(ch, diffIds[i]!, i ? chains[i - 1]! : null, bytes, at);
  });
  db.prepare(
    "INSERT INTO images (id, created, size, config, config_digest, layout) VALUES (?, ?, ?, ?, ?, 'layers')",
  ).run(c.id, c.doc.created ?? at, size, JSON.stringify(c.doc.config ?? {}), `sha256:${c.id}`);
  chains.forEach((ch, i) =>
    db.prepare("INSERT INTO image_layers (image_id, position, chain_id) VALUES (?, ?, ?)").run(
      c.id,
      i,
      ch,
    )
  );
  db.prepare("INSERT INTO image_names (name, image_id) VALUES (?, ?)").run(
    recoveredName(c.id),
    c.id,
  );
  return `image ${c.id.slice(0, 12)} as recovered-${c.id.slice(0, 12)} (${chains.length} layers)`;
}

/** Repairs what checkState found; returns what it did, line by line. */
export async function repairState(): Promise<string[]> {
  const s = survey();
  const done: string[] = [];
  const at = new Date().toISOString();
  if (s.dbError !== undefined) {
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        Deno.renameSync(`${dbPath()}${suffix}`, `${dbPath()}.damaged-${at}${suffix}`);
        if (!suffix) done.push(`set the ${s.dbError} database aside as ${dbPath()}.damaged-${at}`);
      } catch { /* not there */ }
    }
    s.containerRows.clear();
    s.imageRows.clear();
    s.strayResources = [];
    s.strayLeases = [];
  }
  const db = new DatabaseSync(dbPath());
  try {
    db.exec("PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL");
    db.exec("BEGIN IMMEDIATE");
    const v = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
    for (let i = v; i < MIGRATIONS.length; i++) MIGRATIONS[i]!.up(db);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
    db.exec("COMMIT");
    db.exec("BEGIN IMMEDIATE");
    for (const id of s.imageDirs) {
      if (!s.imageRows.has(id)) done.push(recoverLegacyImage(db, id, at));
    }
    if (s.dbError !== undefined) {
      // The layered store: images from their config blobs, when their layers are all there.
      for (const c of imageConfigs()) {
        if (s.imageRows.has(c.id) || s.imageDirs.includes(c.id)) continue;
        const line = await recoverLayeredImage(db, c, at);
        if (line) done.push(line);
      }
    }
    for (const id of s.containerDirs) {
      if (!s.containerRows.has(id)) done.push(recoverContainer(db, id, at));
    }
    const resources = db.prepare(
      "DELETE FROM resources WHERE container_id NOT IN (SELECT id FROM containers)",
    ).run().changes;
    if (resources) done.push(`forgot ${resources} resources of removed containers`);
    const leases = db.prepare(
      "DELETE FROM leases WHERE container_id NOT IN (SELECT id FROM containers)",
    ).run().changes;
    if (leases) done.push(`freed ${leases} address leases of removed containers`);
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  } finally {
    db.close();
  }
  for (const id of s.runDirs) {
    if (s.containerRows.has(id) || s.containerDirs.includes(id)) continue;
    Deno.removeSync(`${runRoot()}/containers/${id}`, { recursive: true });
    done.push(`removed the run directory of removed container ${id.slice(0, 12)}`);
  }
  if (s.dbError !== undefined) {
    done.push("lost with the old database: container names and options, networks, groups, events");
  }
  return done;
}
