// tsbox's state: one SQLite database (node:sqlite) in WAL mode under the
// state root, shared by every tsbox process. Writers take the write lock up
// front (BEGIN IMMEDIATE) and wait for each other (busy_timeout), so parallel
// commands neither lose updates nor see "database is locked".
//
// The schema grows by migrations (MIGRATIONS below): user_version is the
// number of migrations applied, each runs once in its own transaction, in
// order, so a state root made by an earlier tsbox opens and keeps its
// containers, images and networks. A database from a newer tsbox (a higher
// user_version than this one knows) is refused, never downgraded.
//
// Tables (after migration 2):
//   images(id, created, size, config)         image_names(name -> image_id)
//   containers(id, name, image, status, pid, pid_start, boot_id, exit_code,
//              oom_killed, error, created, started_at, finished_at,
//              restart_count, stop_requested, config)   config: src/spec/config.ts
//   resources(container_id, kind, key, data)  every kernel object a container
//                                             owns, recorded before it is made
//   networks(name, ...)  leases(network, address -> container_id)
//   groups(name, resources)                   cgroup parents made by `group create`
//   events(seq, time, type, action, id, attributes)
// Migration 3 (layered images, src/image/store.ts):
//   images + config_digest, manifest_digest (blobs), parent (commit), comment, layout
//            ('legacy': one rootfs dir under images/<id>/, 'layers': image_layers)
//   image_names.name is canonical ("docker.io/library/busybox:latest")
//   layers(chain_id, diff_id, parent, size, created)   unpacked once, shared
//   image_layers(image_id, position, chain_id, blob, media_type, blob_size)
//   image_digests(repo, digest -> image_id)            RepoDigests
// Migration 4 (tsbox build, src/state/build_cache.ts):
//   build_cache(key -> image_id), build_results(image_id)

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { stateRoot } from "../paths.ts";
import { TsboxError } from "../errors.ts";
import { wantSupervisor } from "../background.ts";
import { checkBoot } from "./boot.ts";
import { migrateContainerConfig } from "./migrate_config.ts";
import {
  checkBeforeOpen,
  damagedError,
  diskFullError,
  ensureReserve,
  isDamaged,
  isDiskFull,
  releaseReserve,
} from "./health.ts";
import { createBuildCache } from "./build_cache.ts";

/** Migration 1: the schema of the first release. */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY, created TEXT NOT NULL, size INTEGER NOT NULL, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS image_names (
  name TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id));
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image TEXT NOT NULL, image_id TEXT,
  status TEXT NOT NULL, pid INTEGER, pid_start TEXT, boot_id TEXT,
  exit_code INTEGER, oom_killed INTEGER NOT NULL DEFAULT 0, error TEXT,
  created TEXT NOT NULL, started_at TEXT, finished_at TEXT,
  restart_count INTEGER NOT NULL DEFAULT 0, stop_requested INTEGER NOT NULL DEFAULT 0,
  spec TEXT NOT NULL, options TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
  container_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT,
  PRIMARY KEY (container_id, kind, key));
CREATE TABLE IF NOT EXISTS networks (
  name TEXT PRIMARY KEY, id TEXT NOT NULL, driver TEXT NOT NULL, subnet TEXT NOT NULL,
  gateway TEXT NOT NULL, bridge TEXT NOT NULL, created TEXT NOT NULL, options TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leases (
  network TEXT NOT NULL, address TEXT NOT NULL, container_id TEXT NOT NULL,
  PRIMARY KEY (network, address));
CREATE TABLE IF NOT EXISTS groups (
  name TEXT PRIMARY KEY, resources TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, type TEXT NOT NULL,
  action TEXT NOT NULL, id TEXT NOT NULL, attributes TEXT NOT NULL);
`;

/** Migration 3: layered images (blobs, layers by chain id, repo digests). */
const SCHEMA_V2 = `
ALTER TABLE images ADD COLUMN config_digest TEXT;
ALTER TABLE images ADD COLUMN manifest_digest TEXT;
ALTER TABLE images ADD COLUMN parent TEXT;
ALTER TABLE images ADD COLUMN comment TEXT;
ALTER TABLE images ADD COLUMN layout TEXT NOT NULL DEFAULT 'legacy';
CREATE TABLE layers (
  chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT,
  size INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE image_layers (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE, position INTEGER NOT NULL,
  chain_id TEXT NOT NULL, blob TEXT, media_type TEXT, blob_size INTEGER,
  PRIMARY KEY (image_id, position));
CREATE INDEX image_layers_chain ON image_layers(chain_id);
CREATE TABLE image_digests (
  repo TEXT NOT NULL, digest TEXT NOT NULL,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  PRIMARY KEY (repo, digest));
`;

/** Docker's normalization of the names `tsbox import` stored: "busybox:latest" -> "docker.io/library/busybox:latest". */
function canonicalImportName(name: string): string {
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  if (/[.:]/.test(first) || first === "localhost") return name;
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

/**
 * The migrations, in order; append only (never edit one that has shipped).
 * Each gets the open database inside a transaction.
 */
export const MIGRATIONS: readonly { name: string; up: (db: DatabaseSync) => void }[] = [
  { name: "first schema", up: (db) => db.exec(SCHEMA_V1) },
  { name: "containers keep one typed configuration", up: migrateContainerConfig },
  {
    name: "layered images",
    up: (db) => {
      db.exec(SCHEMA_V2);
      const rows = db.prepare("SELECT name FROM image_names").all() as { name: string }[];
      const rename = db.prepare("UPDATE image_names SET name = ? WHERE name = ?");
      for (const r of rows) rename.run(canonicalImportName(r.name), r.name);
    },
  },
  { name: "build cache", up: createBuildCache },
];

/** A row as node:sqlite returns it. */
export type Row = Record<string, SQLInputValue>;

/** The state database of one state root. */
export class State {
  readonly db: DatabaseSync;
  readonly path: string;
  #depth = 0;
  /** Inside essential(): a full disk gives back the reserve and the write is tried again. */
  #essential = 0;
  /**
   * Prepared statements by SQL text. Preparing one per call costs CPU and, in
   * the long-lived supervisor, C heap that V8 does not see (it measured 150 MB
   * over 50,000 calls, kept by malloc after the statements were collected).
   */
  readonly #statements = new Map<string, StatementSync>();

  constructor(path: string) {
    this.path = path;
    makePrivate(path);
    this.db = new DatabaseSync(path);
    this.db.exec(
      "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    );
    this.migrate();
  }

  /** The schema version: the number of migrations applied. */
  version(): number {
    return (this.db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
  }

  /**
   * A number that changes when another connection (another tsbox process)
   * commits: PRAGMA data_version, a cheap "did anything change?" for pollers.
   */
  dataVersion(): number {
    return (this.db.prepare("PRAGMA data_version").get() as { data_version: number })
      .data_version;
  }

  /** Applies the migrations this database lacks, each in its own transaction. */
  migrate(): void {
    const have = this.version();
    if (have > MIGRATIONS.length) {
      throw new TsboxError(
        `the state database has schema version ${have}, newer than this tsbox knows (${MIGRATIONS.length}): use a newer tsbox`,
      );
    }
    for (let v = have; v < MIGRATIONS.length; v++) {
      this.tx(() => {
        // Another process may have migrated meanwhile (BEGIN IMMEDIATE serializes us).
        if (this.version() !== v) return;
        MIGRATIONS[v]!.up(this.db);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  /** Runs `fn` in one write transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    return this.#retry(() => {
      this.db.exec("BEGIN IMMEDIATE");
      this.#depth++;
      try {
        const r = fn();
        this.db.exec("COMMIT");
        return r;
      } catch (e) {
        // SQLite has already rolled back after some errors (a full disk): a
        // ROLLBACK then fails, and must not hide why.
        if (this.db.isTransaction) {
          try {
            this.db.exec("ROLLBACK");
          } catch { /* the first error is the one to report */ }
        }
        throw e;
      } finally {
        this.#depth--;
      }
    });
  }

  /**
   * Runs `fn`, whose writes must happen even on a full disk (recording a
   * stop, an exit, a removal): the state root's reserve is given up for them.
   */
  essential<T>(fn: () => T): T {
    this.#essential++;
    try {
      return fn();
    } finally {
      this.#essential--;
    }
  }

  /** Runs `fn`, once more after giving up the reserve when essential; errors say what is wrong. */
  #retry<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      const root = this.path.slice(0, this.path.lastIndexOf("/"));
      if (!isDiskFull(e)) throw isDamaged(e) ? damagedError(this.path, e) : e;
      if (this.#essential > 0 && this.#depth === 0 && releaseReserve(root)) {
        try {
          return fn();
        } catch (e2) {
          throw isDiskFull(e2) ? diskFullError(root, e2) : e2;
        }
      }
      throw diskFullError(root, e);
    }
  }

  /** The prepared statement of `sql` (made once; the cache is bounded). */
  #statement(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) {
      if (this.#statements.size >= 256) this.#statements.clear();
      st = this.db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  /** All rows of a query. */
  all<T = Row>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#retry(() => this.#statement(sql).all(...params) as T[]);
  }

  /** The first row of a query, or undefined. */
  get<T = Row>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#retry(() => this.#statement(sql).get(...params) as T | undefined);
  }

  /** Runs a statement; returns the number of changed rows. */
  run(sql: string, ...params: SQLInputValue[]): number {
    return this.#retry(() => Number(this.#statement(sql).run(...params).changes));
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Creates the database file 0600 if it is missing, and brings it, its -wal
 * and its -shm back to 0600 (a state root made by an older tsbox). SQLite
 * gives the -wal and -shm files it creates the database file's mode, so
 * environment values in container specs never land in a readable file.
 */
function makePrivate(path: string): void {
  try {
    Deno.writeFileSync(path, new Uint8Array(0), { append: true, mode: 0o600 });
  } catch { /* SQLite reports what is wrong with the path */ }
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((Deno.statSync(p).mode ?? 0) & 0o077) Deno.chmodSync(p, 0o600);
    } catch { /* not there */ }
  }
}

let opened: State | undefined;

/** The state of the current state root, opened (and created) on first use. Requires root. */
export function state(): State {
  if (opened) return opened;
  const root = stateRoot();
  const path = `${root}/tsbox.db`;
  let st: State;
  try {
    Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
    checkBeforeOpen(root, path);
    st = new State(path);
  } catch (e) {
    if (e instanceof TsboxError) throw e;
    if (isDamaged(e)) throw damagedError(path, e);
    throw new TsboxError(`open the state database in ${JSON.stringify(root)}`, { cause: e });
  }
  if (checkBoot(st)) wantSupervisor();
  ensureReserve(root);
  return opened = st;
}

/** The current time as Docker prints it (RFC 3339, UTC). */
export function now(): string {
  return new Date().toISOString();
}
