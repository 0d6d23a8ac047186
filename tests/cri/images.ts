// Images for the CRI test, made here (nothing can be downloaded): a pause
// image (tests/cri/pause.c, built with gcc -static) and the busybox image
// (the suite's rootfs tarball), each written as a docker-archive tar that
// `ctr images import` reads (manifest.json with RepoTags, config, one layer).

import { busyboxTarball, host } from "../lib/harness.ts";

const here = new URL(".", import.meta.url).pathname;

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes a one-layer docker-archive of `layerTar` tagged `tag` to `out`. */
async function dockerArchive(
  dir: string,
  layerTar: string,
  tag: string,
  config: Record<string, unknown>,
  out: string,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(layerTar, `${dir}/layer.tar`);
  const diffId = `sha256:${await sha256(`${dir}/layer.tar`)}`;
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config,
      rootfs: { type: "layers", diff_ids: [diffId] },
    }),
  );
  await Deno.writeTextFile(
    `${dir}/manifest.json`,
    JSON.stringify([{ Config: "config.json", RepoTags: [tag], Layers: ["layer.tar"] }]),
  );
  await host("tar", ["-C", dir, "-cf", out, "manifest.json", "config.json", "layer.tar"]);
}

/** The pause image's tag. */
export const PAUSE_IMAGE = "localhost/tsbox-pause:1";
/** The busybox image's tag. */
export const BUSYBOX_IMAGE = "localhost/tsbox-busybox:1";

/** Builds both archives under `dir`; returns their paths. */
export async function buildImages(dir: string): Promise<{ pause: string; busybox: string }> {
  const root = `${dir}/pause-root`;
  await Deno.mkdir(root, { recursive: true });
  await host("gcc", ["-static", "-O2", "-o", `${root}/pause`, `${here}pause.c`]);
  await host("tar", [
    "--owner=0",
    "--group=0",
    "-C",
    root,
    "-cf",
    `${dir}/pause-layer.tar`,
    "pause",
  ]);
  const pause = `${dir}/pause.tar`;
  await dockerArchive(`${dir}/pause-img`, `${dir}/pause-layer.tar`, PAUSE_IMAGE, {
    Entrypoint: ["/pause"],
  }, pause);
  const busybox = `${dir}/busybox.tar`;
  await dockerArchive(`${dir}/busybox-img`, await busyboxTarball(), BUSYBOX_IMAGE, {
    Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
    Cmd: ["sh"],
  }, busybox);
  return { pause, busybox };
}
