// `tsbox image inspect`: an image as Docker's API shows it (Id, RepoTags,
// RepoDigests, Parent, Comment, Created, Config, Architecture, Os, Size,
// RootFS.Layers, Metadata) and `tsbox history`.

import { hasBlob, readJsonBlob } from "./blobs.ts";
import type { ContainerConfigJSON, HistoryEntry, ImageConfigJSON } from "./oci.ts";
import { familiarName, type Image, imageLowerDirs } from "./store.ts";
import { getLayer } from "./layers.ts";

/** The image's config document (a legacy image has none: one is sketched from its record). */
export function imageConfigDoc(img: Image): ImageConfigJSON {
  if (img.configDigest && hasBlob(img.configDigest)) {
    return readJsonBlob<ImageConfigJSON>(img.configDigest);
  }
  return {
    created: img.created,
    architecture: "amd64",
    os: "linux",
    config: img.config as ContainerConfigJSON,
    rootfs: { type: "layers", diff_ids: img.layers.map((c) => getLayer(c)?.diffId ?? c) },
  };
}

/** Docker's `image inspect` document. */
export function inspectImage(img: Image): Record<string, unknown> {
  const cfg = imageConfigDoc(img);
  return {
    Id: `sha256:${img.id}`,
    RepoTags: img.names.map(familiarName),
    RepoDigests: img.digests.map(familiarName),
    Parent: img.parent ? `sha256:${img.parent}` : "",
    Comment: img.comment ?? "",
    Created: cfg.created ?? img.created,
    DockerVersion: "",
    Author: cfg.author ?? "",
    Config: {
      Hostname: "",
      Domainname: "",
      User: "",
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: null,
      Cmd: null,
      Image: "",
      Volumes: null,
      WorkingDir: "",
      Entrypoint: null,
      OnBuild: null,
      Labels: null,
      ...(cfg.config ?? {}),
    },
    Architecture: cfg.architecture,
    ...(cfg.variant ? { Variant: cfg.variant } : {}),
    Os: cfg.os,
    Size: img.size,
    GraphDriver: {
      Name: "overlay2",
      // Docker's overlay2 fields: the layers, topmost first, as overlay is given them.
      Data: { LowerDir: imageLowerDirs(img).join(":") },
    },
    RootFS: { Type: "layers", Layers: cfg.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: "0001-01-01T00:00:00Z" },
  };
}

/** One row of `history`. */
export interface HistoryRow {
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
}

/** The image's history, newest first, with each layer's size beside the step that made it. */
export function imageHistory(img: Image): HistoryRow[] {
  const cfg = imageConfigDoc(img);
  const hist: HistoryEntry[] = cfg.history ?? img.layers.map(() => ({}));
  const layers = [...img.layers];
  const rows: HistoryRow[] = [];
  for (const h of hist) {
    const layer = h.empty_layer ? undefined : layers.shift();
    rows.push({
      id: "<missing>",
      created: h.created ?? "",
      createdBy: h.created_by ?? "",
      size: layer ? getLayer(layer)?.size ?? 0 : 0,
      comment: h.comment ?? "",
    });
  }
  rows.reverse();
  if (rows[0]) rows[0].id = `sha256:${img.id}`;
  return rows;
}
