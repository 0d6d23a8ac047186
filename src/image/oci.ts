// The OCI image format and Docker's schema 2, as tsbox reads and writes them:
// media types, descriptors, manifests, indexes (manifest lists) and image
// configs (opencontainers/image-spec: manifest.md, image-index.md,
// config.md, layer.md; Docker's "Image Manifest Version 2, Schema 2").
// Pure data and checks; no I/O.

import { TsboxError } from "../errors.ts";

/** Media types tsbox knows. */
export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondist: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerForeign: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerLayerTar: "application/vnd.docker.image.rootfs.diff.tar",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** How a layer blob is compressed. */
export type Compression = "none" | "gzip" | "zstd";

/** The compression of a layer media type, or undefined when it is not a layer type tsbox reads. */
export function layerCompression(mediaType: string): Compression | undefined {
  switch (mediaType) {
    case MediaType.ociLayer:
    case MediaType.dockerLayerTar:
      return "none";
    case MediaType.ociLayerGzip:
    case MediaType.ociLayerNondist:
    case MediaType.dockerLayer:
    case MediaType.dockerLayerForeign:
      return "gzip";
    case MediaType.ociLayerZstd:
      return "zstd";
  }
  return undefined;
}

/** A content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

/** A platform of an index entry. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
}

/** An image manifest (OCI or Docker schema 2). */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An image index or Docker manifest list. */
export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The runtime part of an image config (`config`). */
export interface ContainerConfigJSON {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  [key: string]: unknown;
}

/** One `history` entry of an image config. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An image configuration (application/vnd.oci.image.config.v1+json). */
export interface ImageConfigJSON {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfigJSON;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Whether `d` is a sha256 digest tsbox can verify. */
export function isDigest(d: unknown): d is string {
  return typeof d === "string" && DIGEST_RE.test(d);
}

/** Throws unless `d` is a sha256 digest (other algorithms are unsupported). */
export function checkDigest(d: unknown, what: string): string {
  if (isDigest(d)) return d;
  throw new TsboxError(`${what}: unsupported or malformed digest ${JSON.stringify(d)}`);
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  const x = d as Descriptor;
  if (typeof x !== "object" || x === null || typeof x.mediaType !== "string") {
    throw new TsboxError(`${what}: malformed descriptor`);
  }
  checkDigest(x.digest, what);
  if (!Number.isSafeInteger(x.size) || x.size < 0) {
    throw new TsboxError(`${what}: bad size ${JSON.stringify(x.size)}`);
  }
  return x;
}

/** Whether a media type (or a document without one) is an index. */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList;
}

/** Parses a manifest or index document; `mediaType` is the one the server sent. */
export function parseManifestDoc(
  bytes: Uint8Array,
  mediaType: string | undefined,
): { kind: "manifest"; manifest: Manifest } | { kind: "index"; index: Index } {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new TsboxError("manifest is not valid JSON", { cause: e });
  }
  const type = (typeof doc.mediaType === "string" ? doc.mediaType : undefined) ??
    mediaType?.split(";")[0]?.trim();
  if (type === MediaType.dockerSchema1 || type === MediaType.dockerSchema1Signed) {
    throw new TsboxError(
      "unsupported manifest: Docker schema 1 images are deprecated (push the image again with a newer tool)",
    );
  }
  if (doc.schemaVersion !== 2) {
    throw new TsboxError(
      `unsupported manifest schema version ${JSON.stringify(doc.schemaVersion)}`,
    );
  }
  if (Array.isArray(doc.manifests) || isIndexType(type)) {
    if (!Array.isArray(doc.manifests)) throw new TsboxError("index without manifests");
    doc.manifests.forEach((m, i) => checkDescriptor(m, `index entry ${i}`));
    return { kind: "index", index: doc as unknown as Index };
  }
  if (
    type !== undefined && type !== MediaType.ociManifest && type !== MediaType.dockerManifest &&
    type !== "application/json"
  ) {
    throw new TsboxError(`unsupported manifest media type ${JSON.stringify(type)}`);
  }
  checkDescriptor(doc.config, "manifest config");
  if (!Array.isArray(doc.layers)) throw new TsboxError("manifest without layers");
  doc.layers.forEach((l, i) => {
    const d = checkDescriptor(l, `manifest layer ${i}`);
    if (layerCompression(d.mediaType) === undefined) {
      throw new TsboxError(
        `manifest layer ${i}: unsupported media type ${JSON.stringify(d.mediaType)}`,
      );
    }
  });
  return { kind: "manifest", manifest: doc as unknown as Manifest };
}

/** A wanted platform, as --platform spells it: os/arch[/variant]. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** Parses `linux/amd64`, `linux/arm64/v8`, `amd64`; throws on anything else. */
export function parsePlatform(s: string): PlatformSpec {
  const parts = s.toLowerCase().split("/");
  if (parts.length === 1 && parts[0]) return { os: "linux", architecture: normArch(parts[0]) };
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new TsboxError(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  }
  const p: PlatformSpec = { os: parts[0]!, architecture: normArch(parts[1]!) };
  if (parts[2]) p.variant = parts[2];
  return p;
}

function normArch(a: string): string {
  return ({
    x86_64: "amd64",
    "x86-64": "amd64",
    aarch64: "arm64",
    armhf: "arm",
    i686: "386",
  } as Record<string, string>)[a] ?? a;
}

/** The platform of this machine (tsbox runs on x86_64 only). */
export function hostPlatform(): PlatformSpec {
  return { os: "linux", architecture: normArch(Deno.build.arch) };
}

/** `linux/amd64` or `linux/arm64/v8`. */
export function platformText(p: PlatformSpec | Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** The index entry for `want` (variant matched when asked; arm64 defaults to v8), or undefined. */
export function selectPlatform(index: Index, want: PlatformSpec): Descriptor | undefined {
  const matches = index.manifests.filter((m) =>
    m.platform && m.platform.os === want.os &&
    normArch(m.platform.architecture) === want.architecture &&
    (want.variant === undefined ||
      (m.platform.variant ?? (want.architecture === "arm64" ? "v8" : "")) === want.variant)
  );
  return matches[0];
}
