// A worker thread that takes one layer from a registry into the store
// (ingest.ts), so that layers are unpacked on every core: decompression,
// hashing, tar parsing and the extraction syscalls all run on the calling
// thread. Messages: in, one LayerJob; out, progress then done or error.

/// <reference lib="deno.worker" />

import { formatError } from "../errors.ts";
import { ingestLayer } from "./ingest.ts";
import type { Compression } from "./oci.ts";
import { Registry } from "./registry/client.ts";

/** What the worker is asked to take in. */
export interface LayerJob {
  domain: string;
  repo: string;
  digest: string;
  size: number;
  compression: Compression;
  parent: string | null;
  diffId: string;
  tlsVerify?: boolean;
}

/** What the worker says. */
export type LayerMessage =
  | { kind: "bytes"; n: number }
  | { kind: "extracting" }
  | { kind: "done"; result: Awaited<ReturnType<typeof ingestLayer>> }
  | { kind: "error"; message: string };

self.onmessage = async (ev: MessageEvent<LayerJob>) => {
  const j = ev.data;
  const reg = new Registry(j.domain, j.tlsVerify !== undefined ? { tlsVerify: j.tlsVerify } : {});
  const post = (m: LayerMessage) => self.postMessage(m);
  try {
    const result = await ingestLayer(reg.blob(j.repo, j.digest, j.size), {
      expect: { digest: j.digest, size: j.size },
      compression: j.compression,
      parent: j.parent,
      diffId: j.diffId,
      onBytes: (n) => post({ kind: "bytes", n }),
      onExtracting: () => post({ kind: "extracting" }),
    });
    post({ kind: "done", result });
  } catch (e) {
    post({ kind: "error", message: formatError(e) });
  } finally {
    reg.close();
    self.close();
  }
};
