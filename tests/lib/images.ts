// Test images made by independent tools, cached under .cache/images/ by a
// hash of their recipe (this file's text): layers are GNU tar archives of
// trees made with coreutils (hard links, setcap, mknod, setuid, owners,
// mtimes, whiteouts and opaque markers written as the OCI layer spec says),
// assembled into OCI layouts by umoci, and pushed by skopeo.

import { busyboxTarball, host } from "./harness.ts";

const repo = new URL("../../", import.meta.url).pathname;

async function recipeHash(): Promise<string> {
  const text = Deno.readTextFileSync(new URL(import.meta.url));
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...h.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const sh = (script: string) => host("sh", ["-euc", script]);

/** The layer trees of the "layered" image (run as root). */
const LAYER1 = `
mkdir -p srv/data opt/data/sub opt/keep var/spool/x
echo layer1 > etc/motd
echo a > opt/data/a; echo b > opt/data/sub/b; echo keep > opt/keep/k
echo linked > srv/data/hl1; ln srv/data/hl1 srv/data/hl2; mkdir srv/other; ln srv/data/hl1 srv/other/hl3
cp /bin/busybox srv/pingcap; setcap cap_net_raw+ep srv/pingcap
echo s > srv/suid; chmod 4755 srv/suid; echo g > srv/sgid; chmod 2711 srv/sgid
mknod srv/null c 1 3; mkfifo srv/fifo
ln -s ../etc/motd srv/link; ln -s /nowhere srv/dangling
echo owned > srv/owned; chown 1000:2000 srv/owned; chmod 640 srv/owned
touch -d '2001-02-03 04:05:06' srv/owned etc/motd
echo spool > var/spool/x/f
head -c 6000000 /dev/urandom > srv/random.bin
`;
const LAYER2 = `
mkdir -p etc bin opt/data var/spool srv/data
touch etc/.wh.motd bin/.wh.ls opt/data/.wh..wh..opq srv/data/.wh.hl2
echo new > opt/data/new
echo replaced > var/spool/x
echo fresh > etc/fresh
`;

/** A tar of the tree `script` makes (GNU tar, with xattrs). */
async function layerTar(work: string, name: string, script: string): Promise<string> {
  const dir = `${work}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  await sh(`cd ${dir} && mkdir -p etc && ${script}`);
  const out = `${work}/${name}.tar`;
  await host("tar", [
    "--xattrs",
    "--xattrs-include=*",
    "--numeric-owner",
    "-C",
    dir,
    "-cf",
    out,
    ".",
  ]);
  return out;
}

/** Builds the OCI layouts once; returns the directory holding them. */
export async function fixtures(): Promise<string> {
  const dir = `${repo}.cache/images/${await recipeHash()}`;
  try {
    Deno.statSync(`${dir}/done`);
    return dir;
  } catch { /* build */ }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const bb = await busyboxTarball();
  const L = `${dir}/layout`;
  await host("umoci", ["init", "--layout", L]);
  // layered: busybox, then a layer of every entry type, then whiteouts and an opaque dir.
  await host("umoci", ["new", "--image", `${L}:layered`]);
  await host("umoci", ["raw", "add-layer", "--image", `${L}:layered`, bb]);
  await host("umoci", [
    "raw",
    "add-layer",
    "--image",
    `${L}:layered`,
    await layerTar(dir, "l1", LAYER1),
  ]);
  await host("umoci", [
    "raw",
    "add-layer",
    "--image",
    `${L}:layered`,
    await layerTar(dir, "l2", LAYER2),
  ]);
  await host("umoci", [
    "config",
    "--image",
    `${L}:layered`,
    "--config.cmd",
    "sh",
    "--config.cmd",
    "-c",
    "--config.cmd",
    "echo cmd-ran",
    "--config.env",
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "--config.env",
    "FROM_IMAGE=yes",
    "--config.workingdir",
    "/srv",
    "--config.exposedports",
    "80/tcp",
    "--config.volume",
    "/data",
    "--config.label",
    "org.test=1",
    "--config.stopsignal",
    "SIGUSR1",
  ]);
  // many: 120 layers, each adding one file.
  await host("umoci", ["new", "--image", `${L}:many`]);
  await host("umoci", ["raw", "add-layer", "--image", `${L}:many`, bb]);
  await sh(`mkdir -p ${dir}/many/layers`);
  for (let i = 1; i < 120; i++) {
    await sh(
      `cd ${dir}/many && rm -f layers/* && echo ${i} > layers/${i} && tar -cf ../m.tar layers`,
    );
    await host("umoci", [
      "raw",
      "add-layer",
      "--no-history",
      "--image",
      `${L}:many`,
      `${dir}/m.tar`,
    ]);
  }
  await host("umoci", ["config", "--image", `${L}:many`, "--config.cmd", "sh"]);
  // arm64: a second platform for an index.
  await host("umoci", ["new", "--image", `${L}:arm`]);
  await host("umoci", [
    "raw",
    "add-layer",
    "--image",
    `${L}:arm`,
    await layerTar(dir, "arm", "echo arm64 > etc/arch"),
  ]);
  await host("umoci", ["config", "--image", `${L}:arm`, "--architecture", "arm64"]);
  await Deno.writeTextFile(`${dir}/done`, "");
  return dir;
}

/** The descriptor of tag `tag` in an OCI layout. */
function layoutEntry(
  layout: string,
  tag: string,
): { mediaType: string; digest: string; size: number } {
  const index = JSON.parse(Deno.readTextFileSync(`${layout}/index.json`));
  const e = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  if (!e) throw new Error(`no ${tag} in ${layout}`);
  return { mediaType: e.mediaType, digest: e.digest, size: e.size };
}

/** Pushes the fixtures to a registry with skopeo (zstd and uncompressed variants too). */
export async function pushFixtures(dir: string, registry: string): Promise<void> {
  const L = `${dir}/layout`;
  const copy = (src: string, dst: string, ...extra: string[]) =>
    host("skopeo", [
      "copy",
      "-q",
      "--dest-tls-verify=false",
      ...extra,
      src,
      `docker://${registry}/${dst}`,
    ]);
  await copy(`oci:${L}:layered`, "layered:1");
  await copy(`oci:${L}:many`, "many:1");
  await copy(`oci:${L}:layered`, "zstd:1", "--dest-compress-format", "zstd");
  // An index with linux/amd64 and linux/arm64, written into a copy of the layout.
  const idx = `${dir}/index-layout`;
  await Deno.remove(idx, { recursive: true }).catch(() => {});
  await host("cp", ["-a", L, idx]);
  const amd = layoutEntry(L, "layered"), arm = layoutEntry(L, "arm");
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { ...arm, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
      { ...amd, platform: { architecture: "amd64", os: "linux" } },
    ],
  });
  const digest = await sha256Hex(index);
  await Deno.writeTextFile(`${idx}/blobs/sha256/${digest}`, index);
  const top = JSON.parse(Deno.readTextFileSync(`${idx}/index.json`));
  top.manifests.push({
    mediaType: "application/vnd.oci.image.index.v1+json",
    digest: `sha256:${digest}`,
    size: new TextEncoder().encode(index).length,
    annotations: { "org.opencontainers.image.ref.name": "multi" },
  });
  await Deno.writeTextFile(`${idx}/index.json`, JSON.stringify(top));
  await copy(`oci:${idx}:multi`, "multi:1", "--all");
  // Uncompressed layers: skopeo's dir: transport decompresses; the blobs go up as they are.
  const plain = `${dir}/plain-dir`;
  await Deno.remove(plain, { recursive: true }).catch(() => {});
  await host("skopeo", ["copy", "-q", "--dest-decompress", `oci:${L}:layered`, `dir:${plain}`]);
  await uploadDir(plain, registry, "plain", "1");
}

async function sha256Hex(text: string | Uint8Array): Promise<string> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...h].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Uploads a skopeo dir: copy as it is (monolithic blob uploads, then the manifest). */
export async function uploadDir(dir: string, registry: string, repo: string, tag: string) {
  const manifest = Deno.readFileSync(`${dir}/manifest.json`);
  const m = JSON.parse(new TextDecoder().decode(manifest));
  for (const d of [m.config, ...m.layers]) {
    await uploadBlob(registry, repo, d.digest, Deno.readFileSync(`${dir}/${d.digest.slice(7)}`));
  }
  const r = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": m.mediaType ?? "application/vnd.oci.image.manifest.v1+json" },
    body: manifest as BodyInit,
  });
  if (!r.ok) throw new Error(`put manifest: ${r.status} ${await r.text()}`);
  await r.body?.cancel();
}

/** Uploads bytes as a blob under `digest` (which need not be theirs: the registry checks). */
export async function uploadBlob(
  registry: string,
  repo: string,
  digest: string,
  bytes: Uint8Array,
) {
  const start = await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  const url = new URL(start.headers.get("location")!, `http://${registry}/`);
  url.searchParams.set("digest", digest);
  const r = await fetch(url, { method: "PUT", body: bytes as BodyInit });
  await r.body?.cancel();
  if (!r.ok) throw new Error(`upload ${digest}: ${r.status}`);
}

export { sha256Hex };
