// Pushing an image: every layer blob the registry lacks (HEAD first, as
// Docker), then the config, then the manifest under the tag; the image then
// has that repo digest. Progress lines as Docker's.

import { TsboxError } from "../errors.ts";
import { blobPath, readBlob } from "./blobs.ts";
import { hex } from "./digest.ts";
import { packImage } from "./pack.ts";
import { Registry, RegistryError } from "./registry/client.ts";
import {
  canonical,
  familiar,
  parseReference,
  repository,
  withDefaultTag,
} from "./registry/reference.ts";
import { addRepoDigest, findImage } from "./store.ts";

/** Options of `pushImage`. */
export interface PushOptions {
  tlsVerify?: boolean;
  onLine?: (line: string) => void;
}

/** Pushes the image named `ref` to its registry; returns the manifest digest. */
export async function pushImage(ref: string, o: PushOptions = {}): Promise<string> {
  const r = withDefaultTag(parseReference(ref));
  if (r.digest !== undefined) throw new TsboxError("cannot push to a digest reference: use a tag");
  const img = findImage(canonical(r));
  const say = o.onLine ?? (() => {});
  const packed = await packImage(img);
  const reg = new Registry(r.domain, o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {});
  say(`The push refers to repository [${familiar(repository(r))}]`);
  try {
    for (const l of [...packed.layers].reverse()) {
      const id = hex(l.digest).slice(0, 12);
      if (await reg.hasBlob(r.path, l.digest)) {
        say(`${id}: Layer already exists`);
        continue;
      }
      say(`${id}: Preparing`);
      await reg.uploadBlob(
        r.path,
        l.digest,
        l.size,
        () => Deno.openSync(blobPath(l.digest)).readable,
      );
      say(`${id}: Pushed`);
    }
    if (!(await reg.hasBlob(r.path, packed.config.digest))) {
      const bytes = readBlob(packed.config.digest);
      await reg.uploadBlob(r.path, packed.config.digest, bytes.length, () => bytes);
    }
    await reg.putManifest(
      r.path,
      r.tag!,
      packed.manifestBytes,
      packed.manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json",
    );
  } catch (e) {
    if (e instanceof RegistryError && (e.status === 401 || e.status === 403)) {
      throw new TsboxError(
        `denied: requested access to the resource is denied (push to ${
          familiar(repository(r))
        }: run 'tsbox login ${r.domain}')`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    reg.close();
  }
  addRepoDigest(img.id, repository(r), packed.manifestDigest);
  say(`${r.tag}: digest: ${packed.manifestDigest} size: ${packed.manifestBytes.length}`);
  return packed.manifestDigest;
}
