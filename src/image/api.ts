// What the engine asks of the image side, in one place: resolve a reference
// (pulling it as the pull policy says), read the image's runtime config and
// files, and get the overlay lower directories of its layers. Front ends
// print progress; the engine never talks to a registry itself.

import { NotFoundError, UsageError } from "../errors.ts";
import { prepareStore } from "./legacy.ts";
import type { PlatformSpec } from "./oci.ts";
import type { PullEvent } from "./pull.ts";
import {
  findImage,
  getImage,
  type Image,
  imageLowerDirs,
  readImageFile,
  type RuntimeConfig,
} from "./store.ts";

/** Docker's --pull policies. */
export type PullPolicy = "missing" | "always" | "never";

/** A resolved image, ready to run. */
export interface ResolvedImage {
  id: string;
  config: RuntimeConfig;
  /** Overlay lower directories, topmost first. */
  layers: string[];
  image: Image;
}

/**
 * Finds `ref` in the store, pulling it when the policy says so (missing:
 * when absent; always; never: a NotFoundError when absent).
 */
export async function resolveImage(
  ref: string,
  o: { pull?: PullPolicy; platform?: PlatformSpec; onEvent?: (e: PullEvent) => void } = {},
): Promise<ResolvedImage> {
  const policy = o.pull ?? "missing";
  if (!["missing", "always", "never"].includes(policy)) {
    throw new UsageError(`invalid pull policy ${JSON.stringify(policy)}`);
  }
  await prepareStore();
  let img: Image | undefined;
  try {
    img = findImage(ref);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  if (policy === "always" || (!img && policy === "missing")) {
    const { pullImage } = await import("./pull.ts");
    img = (await pullImage(ref, {
      ...(o.platform ? { platform: o.platform } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    })).image;
  }
  if (!img) throw new NotFoundError(`no such image: ${ref}`);
  return { id: img.id, config: img.config, layers: imageLowerDirs(img), image: img };
}

/** The overlay lower directories of image `id`, topmost first. */
export function imageRootfsSource(id: string): string[] {
  const img = getImage(id);
  if (!img) throw new NotFoundError(`no such image: ${id}`);
  return imageLowerDirs(img);
}

/** A small file of the image's merged tree (/etc/passwd, /etc/group), or undefined. */
export function imageFile(id: string, path: string): string | undefined {
  const img = getImage(id);
  return img ? readImageFile(img, path) : undefined;
}
