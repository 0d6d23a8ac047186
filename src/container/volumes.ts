// Anonymous volumes (`-v /data`, as Docker makes them): a directory of the
// state root, $TSBOX_ROOT/volumes/<id>/_data, made when the container is
// created, filled with what the image has at that path (Docker's copy-up
// through the image's layers, owners and modes kept), and bind-mounted there. It is a `volume` resource
// of the container: it outlives stop and start, goes with `rm -v` and with
// --rm, and stays (as Docker's would, unnamed) after a plain `rm`; `system df`
// counts those and `system prune --volumes` removes them.

import { sys } from "../../ffi/syscall.ts";
import { stateRoot } from "../paths.ts";
import type { Spec } from "../spec/types.ts";
import { ANONYMOUS_VOLUME } from "../spec/volumes.ts";
import { addResource, listContainers, listResources, newId } from "../state/containers.ts";
import { registerUndo } from "./remove.ts";

export { ANONYMOUS_VOLUME };

/** Resource kind of a container's anonymous volume (key: its directory). */
export const VOLUME = "volume";

/** Where volumes live. */
export function volumesDir(): string {
  return `${stateRoot()}/volumes`;
}

/** Copies the tree at `from` into the existing directory `to`, keeping owners, modes and links. */
function copyTree(from: string, to: string): void {
  for (const e of Deno.readDirSync(from)) {
    const src = `${from}/${e.name}`, dst = `${to}/${e.name}`;
    const st = Deno.lstatSync(src);
    if (st.isCharDevice && st.rdev === 0) {
      // An overlay whiteout: what a lower layer put here is gone in the image.
      try {
        Deno.removeSync(dst, { recursive: true });
      } catch { /* nothing below it */ }
      continue;
    }
    if (!st.isDirectory) {
      try {
        Deno.removeSync(dst, { recursive: true }); // a lower layer's version
      } catch { /* none */ }
    }
    if (st.isSymlink) Deno.symlinkSync(Deno.readLinkSync(src), dst);
    else if (st.isDirectory) {
      Deno.mkdirSync(dst, { recursive: true });
      copyTree(src, dst);
    } else if (st.isFile) Deno.copyFileSync(src, dst);
    else continue; // device nodes and FIFOs of an image are not copied into a volume
    if (st.uid !== null && st.gid !== null) sys("lchown", [dst, st.uid, st.gid]);
    if (!st.isSymlink && st.mode !== null) Deno.chmodSync(dst, st.mode & 0o7777);
  }
}

/** An anonymous volume decided for a container: its directory and where it is mounted. */
export interface PlannedVolume {
  dir: string;
  destination: string;
}

/**
 * Decides the directories of `spec`'s anonymous volumes and points their
 * mounts at them (before the container is recorded, so its stored spec is
 * final). Makes nothing.
 */
export function planAnonymousVolumes(spec: Spec): PlannedVolume[] {
  const out: PlannedVolume[] = [];
  for (const m of spec.mounts ?? []) {
    if (m.type !== "bind" || m.source !== ANONYMOUS_VOLUME) continue;
    const dir = `${volumesDir()}/${newId()}`;
    m.source = `${dir}/_data`;
    out.push({ dir, destination: m.destination });
  }
  return out;
}

/**
 * Makes the planned volumes of container `id` (each recorded first as a
 * `volume` resource), filled with what the image has at their path: its
 * layers' directories, lowest first (a whiteout removes what a lower layer put
 * there).
 */
export function makeAnonymousVolumes(
  id: string,
  volumes: readonly PlannedVolume[],
  layers: readonly string[],
): void {
  for (const v of volumes) {
    addResource(id, VOLUME, v.dir, { destination: v.destination });
    Deno.mkdirSync(`${v.dir}/_data`, { recursive: true, mode: 0o755 });
    Deno.chmodSync(`${v.dir}/_data`, 0o755); // the container's directory, whatever our umask
    for (const layer of layers) {
      const inImage = `${layer}${v.destination}`;
      try {
        const st = Deno.statSync(inImage);
        if (!st.isDirectory) continue;
        copyTree(inImage, `${v.dir}/_data`);
        if (st.mode !== null) Deno.chmodSync(`${v.dir}/_data`, st.mode & 0o7777);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }
}

/** Removes the volumes recorded for `id` (a create that failed). Never throws. */
export function removeAnonymousVolumes(id: string): void {
  try {
    for (const r of listResources(id).filter((x) => x.kind === VOLUME)) {
      try {
        Deno.removeSync(r.key, { recursive: true });
      } catch { /* never made */ }
    }
  } catch { /* the state failed: the caller reports it */ }
}

registerUndo(VOLUME, (_id, r) => {
  try {
    Deno.removeSync(r.key, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
});

/** Volumes no container uses (left by `rm` without -v): their directories. */
export function unusedVolumes(): string[] {
  const used = new Set(
    listContainers().flatMap((c) => listResources(c.id).filter((r) => r.kind === VOLUME))
      .map((r) => r.key),
  );
  try {
    return [...Deno.readDirSync(volumesDir())].map((e) => `${volumesDir()}/${e.name}`).filter((
      d,
    ) => !used.has(d));
  } catch {
    return [];
  }
}
