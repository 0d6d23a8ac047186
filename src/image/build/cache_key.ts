// The cache key of a build step, with the rules of Docker's builder: a step
// is reused when it has the same parent image, the same instruction (its
// expanded text: a changed ENV value or --build-arg used in a COPY changes
// it), for RUN the same build arguments in scope (`|N k=v`: a changed
// --build-arg misses at its first use, not at its ARG), and for COPY and ADD
// the same content checksums of what they read (not the files' times) and
// the same --from image. Pure.

import { createHash } from "node:crypto";

/** Bumped when what a step makes changes for the same key (old entries then miss). */
export const CACHE_VERSION = 1;

/** What a step's cache key covers. */
export interface KeyParts {
  /** The parent image's id, or "scratch". */
  parent: string;
  /** The step's cache text (dispatch.ts). */
  step: string;
  /** COPY/ADD: the checksum of the sources read. */
  content?: string | undefined;
  /** COPY --from: the id of the image read. */
  from?: string | undefined;
}

/** The hex sha256 key of a step. */
export function cacheKey(p: KeyParts): string {
  return createHash("sha256").update(
    JSON.stringify({
      v: CACHE_VERSION,
      parent: p.parent,
      step: p.step,
      content: p.content ?? null,
      from: p.from ?? null,
    }),
  ).digest("hex");
}
