// sha256 digests of byte streams, for content addressing (OCI image-spec
// descriptor.md "Digests"). node:crypto hashes in native code; it is loaded
// on first use so that commands which never hash do not pay for it.

import type { Hash } from "node:crypto";

let crypto: typeof import("node:crypto") | undefined;

/** Loads node:crypto once. */
async function load(): Promise<typeof import("node:crypto")> {
  return crypto ??= await import("node:crypto");
}

/** A running sha256 with a byte count. */
export class Hasher {
  readonly #h: Hash;
  /** Bytes hashed so far. */
  size = 0;

  private constructor(h: Hash) {
    this.#h = h;
  }

  /** A new hasher. */
  static async create(): Promise<Hasher> {
    return new Hasher((await load()).createHash("sha256"));
  }

  /** Adds bytes. */
  update(chunk: Uint8Array): void {
    this.#h.update(chunk);
    this.size += chunk.length;
  }

  /** "sha256:<hex>" of everything added. */
  digest(): string {
    return `sha256:${this.#h.digest("hex")}`;
  }

  /** A pass-through stream that hashes what flows through it. */
  stream(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, ctl) => {
        this.update(chunk);
        ctl.enqueue(chunk);
      },
    });
  }
}

/** "sha256:<hex>" of some bytes. */
export async function sha256(data: Uint8Array | string): Promise<string> {
  const h = (await load()).createHash("sha256");
  h.update(data);
  return `sha256:${h.digest("hex")}`;
}

/** The hex part of "sha256:<hex>". */
export function hex(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

/**
 * The chain ID of a layer (OCI image-spec config.md "Layer ChainID"):
 * ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export async function chainIds(diffIds: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : await sha256(`${out[out.length - 1]} ${d}`));
  }
  return out;
}
