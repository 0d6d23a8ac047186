// The build cache of `tsbox build`: a step's cache key (its parent image,
// instruction, build arguments in use and content checksums, see
// src/image/build/cache_key.ts) -> the image the step made. Intermediate
// images are ordinary nameless images of the store; build_results records
// the images builds produced, which `images` shows even without a name
// (the other images the cache holds are intermediate, listed by `images -a`).
//
// Tables (migration "build cache"):
//   build_cache(key, image_id, step, created, last_used)
//   build_results(image_id, created)

import type { DatabaseSync } from "node:sqlite";
import { now, state } from "./db.ts";

/** Migration: the build cache's tables. */
export function createBuildCache(db: DatabaseSync): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS build_cache (
  key TEXT PRIMARY KEY, image_id TEXT NOT NULL, step TEXT NOT NULL,
  created TEXT NOT NULL, last_used TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS build_cache_image ON build_cache(image_id);
CREATE TABLE IF NOT EXISTS build_results (image_id TEXT PRIMARY KEY, created TEXT NOT NULL);
`);
}

/** One cache entry. */
export interface CacheEntry {
  key: string;
  imageId: string;
  step: string;
  created: string;
  lastUsed: string;
}

interface Row {
  key: string;
  image_id: string;
  step: string;
  created: string;
  last_used: string;
}

const toEntry = (r: Row): CacheEntry => ({
  key: r.key,
  imageId: r.image_id,
  step: r.step,
  created: r.created,
  lastUsed: r.last_used,
});

/** The image a cache key gave, or undefined. */
export function cacheLookup(key: string): string | undefined {
  return state().get<Row>("SELECT * FROM build_cache WHERE key = ?", key)?.image_id;
}

/** Records that step `key` made image `imageId` (replacing an older entry). */
export function cacheStore(key: string, imageId: string, step: string): void {
  const t = now();
  state().run(
    "INSERT OR REPLACE INTO build_cache (key, image_id, step, created, last_used) VALUES (?, ?, ?, ?, ?)",
    key,
    imageId,
    step,
    t,
    t,
  );
}

/** Marks an entry as used now. */
export function cacheTouch(key: string): void {
  state().run("UPDATE build_cache SET last_used = ? WHERE key = ?", now(), key);
}

/** Forgets a key (its image is gone). */
export function cacheForget(key: string): void {
  state().run("DELETE FROM build_cache WHERE key = ?", key);
}

/** Every cache entry. */
export function cacheEntries(): CacheEntry[] {
  return state().all<Row>("SELECT * FROM build_cache ORDER BY created").map(toEntry);
}

/** Removes every cache entry; returns the image ids they held. */
export function cacheClear(): string[] {
  return state().tx(() => {
    const ids = state().all<{ image_id: string }>("SELECT DISTINCT image_id FROM build_cache")
      .map((r) => r.image_id);
    state().run("DELETE FROM build_cache");
    return ids;
  });
}

/** Records that a build produced `imageId`. */
export function addBuildResult(imageId: string): void {
  state().run(
    "INSERT OR IGNORE INTO build_results (image_id, created) VALUES (?, ?)",
    imageId,
    now(),
  );
}

/** The images builds produced. */
export function buildResults(): Set<string> {
  return new Set(
    state().all<{ image_id: string }>("SELECT image_id FROM build_results").map((r) => r.image_id),
  );
}

/** Forgets that a build produced `imageId` (the image was removed). */
export function removeBuildResult(imageId: string): void {
  state().run("DELETE FROM build_results WHERE image_id = ?", imageId);
}

/**
 * Images only the build cache holds: in a cache entry, not a build's
 * result. (Whether they have names or containers is the caller's check.)
 */
export function intermediateImages(): Set<string> {
  return new Set(
    state().all<{ image_id: string }>(
      "SELECT DISTINCT image_id FROM build_cache WHERE image_id NOT IN (SELECT image_id FROM build_results)",
    ).map((r) => r.image_id),
  );
}
