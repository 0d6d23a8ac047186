// Pulling an image: resolve the reference to a manifest (an index or
// manifest list picks the wanted platform, linux/amd64 by default), fetch
// and verify the config, then take in the missing layers, three at a time
// (as Docker), each streamed from the registry into the blob store and
// unpacked at once (ingest.ts), its digest, size and diff id verified;
// large layers are taken in by worker threads (ingest_worker.ts). The
// image becomes visible (names, digests) only when every layer is stored.

import { NotFoundError, TsboxError } from "../errors.ts";
import { clearStaleTmp, hasBlob, putBlob, readBlob } from "./blobs.ts";
import { chainIds, hex, sha256 } from "./digest.ts";
import { type Ingested, ingestLayer } from "./ingest.ts";
import type { LayerJob, LayerMessage } from "./ingest_worker.ts";
import { getLayer, type Layer } from "./layers.ts";
import {
  checkDigest,
  type Descriptor,
  hostPlatform,
  type ImageConfigJSON,
  layerCompression,
  type Manifest,
  parseManifestDoc,
  type PlatformSpec,
  platformText,
  selectPlatform,
} from "./oci.ts";
import { Registry, RegistryError, type RegistryOptions } from "./registry/client.ts";
import {
  canonical,
  familiar,
  parseReference,
  type Reference,
  repository,
  withDefaultTag,
} from "./registry/reference.ts";
import { addImage, addRepoDigest, getImage, type Image, tagImage } from "./store.ts";

/** What a pull reports as it goes (Docker's JSON progress messages, in short). */
export type PullEvent =
  | { kind: "resolved"; ref: string }
  | {
    kind: "layer";
    id: string;
    status:
      | "Already exists"
      | "Pulling fs layer"
      | "Waiting"
      | "Downloading"
      | "Extracting"
      | "Pull complete";
    current?: number;
    total?: number;
  }
  | { kind: "retry"; what: string; attempt: number; delayMs: number; error: string };

/** Options of `pullImage`. */
export interface PullOptions {
  platform?: PlatformSpec;
  tlsVerify?: boolean;
  onEvent?: (e: PullEvent) => void;
  /** Parallel layer downloads (default 3, as Docker). */
  concurrency?: number;
}

/** What a pull did. */
export interface PullResult {
  image: Image;
  /** The name the pull made: "docker.io/library/debian:latest" (or repo@digest). */
  name: string;
  /** The digest of the manifest (or index) the reference resolved to. */
  digest: string;
  /** Whether anything new was stored (Docker's "Downloaded newer image"). */
  downloaded: boolean;
}

const short = (digest: string) => hex(digest).slice(0, 12);

/** Layers this large are unpacked by a worker thread when one is free. */
const WORKER_MIN = 4 << 20;

/** A count of worker threads in use (one less than the CPUs: the main thread works too). */
class Slots {
  #free: number;
  constructor(n: number) {
    this.#free = n;
  }
  take(): boolean {
    if (this.#free <= 0) return false;
    this.#free--;
    return true;
  }
  give(): void {
    this.#free++;
  }
}

/** Runs one layer job in a worker thread (ingest_worker.ts). */
function inWorker(
  job: LayerJob,
  onBytes: (n: number) => void,
  onExtracting: () => void,
): Promise<Ingested> {
  const w = new Worker(new URL("./ingest_worker.ts", import.meta.url), { type: "module" });
  return new Promise<Ingested>((resolve, reject) => {
    w.onmessage = (ev: MessageEvent<LayerMessage>) => {
      const m = ev.data;
      if (m.kind === "bytes") onBytes(m.n);
      else if (m.kind === "extracting") onExtracting();
      else if (m.kind === "done") resolve(m.result);
      else reject(new TsboxError(m.message));
    };
    w.onerror = (e) => {
      e.preventDefault();
      reject(new TsboxError(`layer worker: ${e.message}`));
    };
    w.postMessage(job);
  }).finally(() => w.terminate());
}

/** Turns registry errors into Docker's messages for a pull of `ref`. */
function pullError(e: unknown, r: Reference): unknown {
  if (!(e instanceof RegistryError)) return e;
  const name = familiar(repository(r));
  if (e.status === 401 || e.status === 403 || e.codes.includes("UNAUTHORIZED")) {
    return new TsboxError(
      `pull access denied for ${name}, repository does not exist or may require 'tsbox login'`,
      { cause: e },
    );
  }
  if (e.status === 404) {
    const what = familiar(canonical(withDefaultTag(r)));
    return new NotFoundError(`manifest for ${what} not found`, { cause: e });
  }
  return e;
}

/** Resolves `r` to an image manifest, choosing a platform from an index. */
async function resolveManifest(
  reg: Registry,
  r: Reference,
  want: PlatformSpec,
): Promise<
  { manifest: Manifest; manifestBytes: Uint8Array; topDigest: string; topBytes: Uint8Array }
> {
  const repo = r.path;
  const first = await reg.getManifest(repo, r.digest ?? r.tag ?? "latest");
  const topDigest = await sha256(first.bytes);
  if (r.digest !== undefined && topDigest !== r.digest) {
    throw new TsboxError(`manifest digest mismatch: asked ${r.digest}, got ${topDigest}`);
  }
  const doc = parseManifestDoc(first.bytes, first.mediaType);
  if (doc.kind === "manifest") {
    return { manifest: doc.manifest, manifestBytes: first.bytes, topDigest, topBytes: first.bytes };
  }
  const entry = selectPlatform(doc.index, want);
  if (!entry) {
    const have = doc.index.manifests.map((m) => m.platform ? platformText(m.platform) : "?");
    throw new TsboxError(
      `no matching manifest for ${platformText(want)} in the manifest list entries (the image has ${
        have.join(", ")
      })`,
    );
  }
  const second = await reg.getManifest(repo, entry.digest);
  const digest = await sha256(second.bytes);
  if (digest !== entry.digest) {
    throw new TsboxError(`manifest digest mismatch: index says ${entry.digest}, got ${digest}`);
  }
  if (second.bytes.length !== entry.size) {
    throw new TsboxError(`manifest ${entry.digest}: size mismatch`);
  }
  const inner = parseManifestDoc(second.bytes, entry.mediaType);
  if (inner.kind !== "manifest") throw new TsboxError("an index inside an index is unsupported");
  return {
    manifest: inner.manifest,
    manifestBytes: second.bytes,
    topDigest,
    topBytes: first.bytes,
  };
}

/** Fetches (or reads, when stored) a small blob and verifies it. */
async function smallBlob(reg: Registry, repo: string, d: Descriptor): Promise<Uint8Array> {
  if (hasBlob(d.digest)) return readBlob(d.digest);
  if (d.size > 16 * 1024 * 1024) throw new TsboxError(`config ${d.digest} is too large`);
  const bytes = new Uint8Array(await new Response(reg.blob(repo, d.digest, d.size)).arrayBuffer());
  const got = await sha256(bytes);
  if (got !== d.digest || bytes.length !== d.size) {
    throw new TsboxError(`digest mismatch: blob ${d.digest} has digest ${got}`);
  }
  return bytes;
}

/** Runs `fns` with at most `n` at once; rejects with the first failure after all settle. */
async function limited<T>(n: number, fns: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(fns.length);
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async () => {
    while (next < fns.length && !failed) {
      const i = next++;
      try {
        out[i] = await fns[i]!();
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, worker));
  if (failed) throw failed.e;
  return out;
}

/**
 * Pulls `ref` into the store. Layers already stored (by chain id) are not
 * downloaded again. Requires root (layers keep their owners).
 */
export async function pullImage(ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const r = withDefaultTag(parseReference(ref));
  const emit = opts.onEvent ?? (() => {});
  const reg = new Registry(
    r.domain,
    {
      ...(opts.tlsVerify !== undefined ? { tlsVerify: opts.tlsVerify } : {}),
      onRetry: (what, attempt, delayMs, err) =>
        emit({ kind: "retry", what, attempt, delayMs, error: String(err) }),
    } satisfies RegistryOptions,
  );
  clearStaleTmp();
  try {
    let m;
    try {
      m = await resolveManifest(reg, r, opts.platform ?? hostPlatform());
    } catch (e) {
      throw pullError(e, r);
    }
    const { manifest } = m;
    emit({ kind: "resolved", ref: canonical(r) });
    const cfgBytes = await smallBlob(reg, r.path, manifest.config);
    let cfg: ImageConfigJSON;
    try {
      cfg = JSON.parse(new TextDecoder().decode(cfgBytes));
    } catch (e) {
      throw new TsboxError(`image config ${manifest.config.digest} is not JSON`, { cause: e });
    }
    const diffIds = cfg.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw new TsboxError(
        `image config has ${diffIds.length} diff ids for ${manifest.layers.length} layers`,
      );
    }
    diffIds.forEach((d, i) => checkDigest(d, `diff id ${i}`));
    const want = opts.platform ?? hostPlatform();
    if (
      cfg.os && cfg.os !== want.os || cfg.architecture && cfg.architecture !== want.architecture
    ) {
      if (!opts.platform) {
        throw new TsboxError(
          `image ${familiar(canonical(r))} is for ${cfg.os}/${cfg.architecture}, not ${
            platformText(want)
          }`,
        );
      }
    }
    const chains = await chainIds(diffIds);
    const imageId = hex(manifest.config.digest);
    let downloaded = false;
    const layers: { layer: Layer; blob: Descriptor }[] = new Array(manifest.layers.length);
    const todo: (() => Promise<void>)[] = [];
    const workers = new Slots(Math.max(0, (navigator.hardwareConcurrency ?? 2) - 1));
    manifest.layers.forEach((d, i) => {
      const have = getLayer(chains[i]!);
      if (have) {
        emit({ kind: "layer", id: short(d.digest), status: "Already exists" });
        layers[i] = { layer: have, blob: d };
        return;
      }
      emit({ kind: "layer", id: short(d.digest), status: "Pulling fs layer" });
      todo.push(async () => {
        downloaded = true;
        if (d.urls?.length) {
          throw new TsboxError(`layer ${d.digest} is a foreign layer (urls): unsupported`);
        }
        const id = short(d.digest);
        let last = 0;
        const onBytes = (n: number) => {
          if (n - last >= 256 * 1024 || n === d.size) {
            last = n;
            emit({ kind: "layer", id, status: "Downloading", current: n, total: d.size });
          }
        };
        const onExtracting = () => emit({ kind: "layer", id, status: "Extracting" });
        const job: LayerJob = {
          domain: r.domain,
          repo: r.path,
          digest: d.digest,
          size: d.size,
          compression: layerCompression(d.mediaType)!,
          parent: i === 0 ? null : chains[i - 1]!,
          diffId: diffIds[i]!,
          ...(opts.tlsVerify !== undefined ? { tlsVerify: opts.tlsVerify } : {}),
        };
        // Large layers go to a worker thread (another core); small ones stay here.
        const got = d.size >= WORKER_MIN && workers.take()
          ? await inWorker(job, onBytes, onExtracting).finally(() => workers.give())
          : await ingestLayer(reg.blob(r.path, d.digest, d.size), {
            expect: { digest: d.digest, size: d.size },
            compression: job.compression,
            parent: job.parent,
            diffId: job.diffId,
            onBytes,
            onExtracting,
          });
        emit({ kind: "layer", id, status: "Pull complete" });
        layers[i] = { layer: got.layer, blob: d };
      });
    });
    await limited(opts.concurrency ?? 3, todo);
    await putBlob(cfgBytes);
    const manifestDigest = await putBlob(m.manifestBytes);
    if (m.topDigest !== manifestDigest) await putBlob(m.topBytes);
    const existed = getImage(imageId) !== undefined;
    const image = addImage({
      id: imageId,
      config: cfg.config,
      configDigest: manifest.config.digest,
      manifestDigest,
      ...(cfg.created ? { created: cfg.created } : {}),
      layers: layers.map((l) => ({
        layer: l.layer,
        blob: { digest: l.blob.digest, mediaType: l.blob.mediaType, size: l.blob.size },
      })),
    });
    const name = r.digest === undefined ? canonical(r) : `${repository(r)}@${r.digest}`;
    if (r.digest === undefined) tagImage(image.id, canonical(r));
    addRepoDigest(image.id, repository(r), m.topDigest);
    return {
      image: getImage(image.id)!,
      name,
      digest: m.topDigest,
      downloaded: downloaded || !existed,
    };
  } catch (e) {
    throw pullError(e, r);
  } finally {
    reg.close();
  }
}
