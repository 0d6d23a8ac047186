// What the builder needs of the image store, as one small interface: find or
// pull a base image, the layer directories of an image, turn an overlay upper
// dir into a layer, store an image from its config and layers, tag it.
// store.ts implements it with the layered store (src/image/store.ts,
// layers.ts, pull.ts); tests can give their own.

import type { RunConfig } from "./image_config.ts";

/** One entry of an image's history. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An image configuration document (OCI image-spec config.md). */
export interface ImageDoc {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  config?: RunConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

/** A layer in the store. */
export interface StoreLayer {
  chainId: string;
  diffId: string;
  /** Bytes of file data. */
  size: number;
}

/** An image in the store, as the builder sees it. */
export interface StoreImage {
  /** Hex id (the sha256 of its config). */
  id: string;
  doc: ImageDoc;
  /** Base layer first. */
  layers: StoreLayer[];
}

/** The image store, for the builder. */
export interface BuildStore {
  /** A local image by name or id, or undefined. */
  findLocal(ref: string): StoreImage | undefined;
  /** Pulls `ref` (Docker's progress on standard output unless quiet). */
  pull(ref: string, quiet: boolean): Promise<StoreImage>;
  /** The image with this exact id, or undefined. */
  image(id: string): StoreImage | undefined;
  /** An image's layer directories, topmost first (overlay's lowerdir order). */
  lowerDirs(img: StoreImage): string[];
  /** A new empty directory on the store's filesystem (so it can be renamed into it). */
  tempDir(what: string): string;
  /**
   * Makes a layer of an overlay upper dir (whiteouts and opaque dirs as
   * overlay wrote them) on top of the layer `parent` (a chain id); the
   * directory is taken over (moved into the store, or removed). Returns null
   * when it holds no change.
   */
  commitUpper(upper: string, parent: string | null): Promise<StoreLayer | null>;
  /** Stores an image from its config document and layers; `parent` is the image it was built on. */
  putImage(doc: ImageDoc, layers: StoreLayer[], parent: string | null): Promise<StoreImage>;
  /** Checks and normalizes a -t name ("app" -> "docker.io/library/app:latest"); throws UsageError. */
  normalizeTag(name: string): string;
  /** Points a normalized name at an image. */
  tag(imageId: string, name: string): void;
}
