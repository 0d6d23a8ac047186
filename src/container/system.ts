// `tsbox system df` and `system prune`: what tsbox's state uses on disk, and
// removing what nothing uses (stopped containers, unused user networks,
// unused images).

import { allowed } from "./state_machine.ts";
import { imagesDiskUsage, listImages } from "../image/store.ts";
import { removeImage } from "../image/store.ts";
import { listNetworks, networkInUse, removeNetwork } from "../net/network.ts";
import { containerDir } from "../paths.ts";
import { listContainers } from "../state/containers.ts";
import { buildCacheUsage } from "../image/build/store.ts";
import { formatError } from "../errors.ts";
import { removeContainer } from "./lifecycle.ts";
import { reconcile } from "./status.ts";
import { unusedVolumes, volumesDir } from "./volumes.ts";

/** Bytes used by the files under `path` (not following links). */
export function diskUsage(path: string): number {
  let total = 0;
  const walk = (p: string) => {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(p);
    } catch {
      return;
    }
    total += info.size;
    if (info.isDirectory) {
      try {
        for (const e of Deno.readDirSync(p)) walk(`${p}/${e.name}`);
      } catch { /* unreadable */ }
    }
  };
  walk(path);
  return total;
}

/** One row of `system df`. */
export interface DfRow {
  type: string;
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** Disk usage by images and containers. */
export function systemDf(): DfRow[] {
  const containers = listContainers().map(reconcile);
  const usedImages = new Set(containers.map((c) => c.imageId).filter(Boolean));
  const images = listImages();
  // img: layers shared by several images are counted once.
  const usage = imagesDiskUsage(usedImages as Set<string>);
  const imageSize = usage.size;
  const unusedSize = usage.reclaimable;
  const sizes = containers.map((c) => ({ c, size: diskUsage(`${containerDir(c.id)}/upper`) }));
  const active = (s: string) => s === "running" || s === "paused" || s === "restarting";
  return [
    {
      type: "Images",
      total: images.length,
      active: usedImages.size,
      size: imageSize,
      reclaimable: unusedSize,
    },
    {
      type: "Containers",
      total: containers.length,
      active: containers.filter((c) => active(c.status)).length,
      size: sizes.reduce((a, s) => a + s.size, 0),
      reclaimable: sizes.filter((s) => !active(s.c.status)).reduce((a, s) => a + s.size, 0),
    },
    volumesRow(),
    // tsbox build's cached steps: the bytes only their intermediate images hold.
    { type: "Build Cache", active: 0, ...buildCacheUsage() },
  ];
}

/** Anonymous volumes: all of them, those in use, their sizes. */
function volumesRow(): DfRow {
  let all: string[] = [];
  try {
    all = [...Deno.readDirSync(volumesDir())].map((e) => `${volumesDir()}/${e.name}`);
  } catch { /* none yet */ }
  const unused = new Set(unusedVolumes());
  const sizes = all.map((d) => ({ d, size: diskUsage(d) }));
  return {
    type: "Local Volumes",
    total: all.length,
    active: all.length - unused.size,
    size: sizes.reduce((a, x) => a + x.size, 0),
    reclaimable: sizes.filter((x) => unused.has(x.d)).reduce((a, x) => a + x.size, 0),
  };
}

/** What `system prune` removed. */
export interface PruneReport {
  containers: string[];
  networks: string[];
  images: string[];
  /** Anonymous volumes no container uses (with `volumes`). */
  volumes: string[];
  errors: string[];
}

/**
 * Removes stopped containers, unused user networks, (all: every unused, else
 * nameless) images and, with `volumes`, anonymous volumes no container uses.
 */
export async function systemPrune(allImages: boolean, volumes = false): Promise<PruneReport> {
  const report: PruneReport = { containers: [], networks: [], images: [], volumes: [], errors: [] };
  for (const c of listContainers().map(reconcile)) {
    if (allowed("remove", c)) {
      try {
        await removeContainer(c.id, false);
        report.containers.push(c.id);
      } catch (e) {
        report.errors.push(formatError(e));
      }
    }
  }
  for (const n of listNetworks()) {
    if (["bridge", "host", "none"].includes(n.name) || networkInUse(n.name)) continue;
    try {
      removeNetwork(n.name);
      report.networks.push(n.name);
    } catch (e) {
      report.errors.push(formatError(e));
    }
  }
  const used = new Set(listContainers().map((c) => c.imageId));
  for (const img of listImages()) {
    if (used.has(img.id) || (!allImages && img.names.length)) continue;
    try {
      report.images.push(...removeImage(img.id, false));
    } catch (e) {
      report.errors.push(formatError(e));
    }
  }
  if (volumes) {
    for (const d of unusedVolumes()) {
      try {
        Deno.removeSync(d, { recursive: true });
        report.volumes.push(d.slice(d.lastIndexOf("/") + 1));
      } catch (e) {
        report.errors.push(formatError(e));
      }
    }
  }
  return report;
}
