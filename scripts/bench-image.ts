// Image benchmarks for `deno task bench` (section "images"), each beside a
// reference tool in the same run, on loopback only:
//   pull      a ~120 MB multi-layer Debian + python3 image (debootstrap, cached in
//             .cache/bench-debian) from a local registry: tsbox pull vs podman pull
//             (each into empty storage; goal <= 0.7x), and tsbox's peak RSS (goal < 100 MB)
//   extract   the largest layer blob: tsbox import vs GNU tar -xzf (goal <= 1.2x)
//   start     tsbox run --rm true from a 120-layer image vs a 1-layer one (goal <= 1.2x)

import { host } from "../tests/lib/harness.ts";
import { fixtures, pushFixtures } from "../tests/lib/images.ts";
import { startRegistry } from "../tests/lib/registry.ts";

const repo = new URL("../", import.meta.url).pathname;
const main = `${repo}main.ts`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs a command under /usr/bin/time; returns wall ms and peak RSS (KB). */
async function timed(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ms: number; rssKb: number }> {
  const t0 = performance.now();
  const o = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "tsbox-bench-rss %M", cmd, ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const err = new TextDecoder().decode(o.stderr);
  if (o.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${o.code}: ${err}`);
  return { ms, rssKb: Number(err.match(/tsbox-bench-rss (\d+)/)?.[1] ?? 0) };
}

/** The Debian + python3 image as an OCI layout of 4 layers (built once, cached). */
async function debianLayout(): Promise<string> {
  const dir = `${repo}.cache/bench-debian`;
  try {
    Deno.statSync(`${dir}/done`);
    return dir;
  } catch { /* build */ }
  await Deno.mkdir(dir, { recursive: true });
  const rootfs = `${dir}/rootfs`;
  await Deno.remove(`${dir}/layout`, { recursive: true }).catch(() => {});
  try {
    Deno.statSync(`${rootfs}/usr/bin/python3`);
  } catch {
    await Deno.remove(rootfs, { recursive: true }).catch(() => {});
    console.log("  building the Debian + python3 image with debootstrap (once)...");
    await host("debootstrap", [
      "--variant=minbase",
      "--include=python3",
      "bookworm",
      rootfs,
      "http://deb.debian.org/debian",
    ]);
  }
  const L = `${dir}/layout`;
  await host("umoci", ["init", "--layout", L]);
  await host("umoci", ["new", "--image", `${L}:deb`]);
  const parts: [string, string[]][] = [
    ["base", ["--exclude=./usr/lib/python3*", "--exclude=./usr/share", "."]],
    ["share", ["./usr/share"]],
    ["python", ["./usr/lib/python3", "./usr/lib/python3.11"]],
  ];
  for (const [name, what] of parts) {
    await host("tar", [
      "--xattrs",
      "--numeric-owner",
      "-C",
      rootfs,
      "-cf",
      `${dir}/${name}.tar`,
      ...what,
    ]);
    await host("umoci", ["raw", "add-layer", "--image", `${L}:deb`, `${dir}/${name}.tar`]);
    await Deno.remove(`${dir}/${name}.tar`);
  }
  await host("sh", [
    "-c",
    `mkdir -p ${dir}/app/app && echo 'print("hi")' > ${dir}/app/app/main.py && tar -C ${dir}/app -cf ${dir}/app.tar app`,
  ]);
  await host("umoci", ["raw", "add-layer", "--image", `${L}:deb`, `${dir}/app.tar`]);
  await host("umoci", ["config", "--image", `${L}:deb`, "--config.cmd", "python3"]);
  await Deno.remove(rootfs, { recursive: true });
  await Deno.writeTextFile(`${dir}/done`, "");
  return dir;
}

/** Runs the image benchmarks; returns summary lines. */
export async function benchImages(opts: { runs?: number } = {}): Promise<string[]> {
  const runs = opts.runs ?? 3;
  const summary: string[] = [];
  const deb = await debianLayout();
  const reg = await startRegistry();
  const work = await Deno.makeTempDir({ prefix: "tsbox-bench-img-" });
  try {
    await host("skopeo", [
      "copy",
      "-q",
      "--dest-tls-verify=false",
      `oci:${deb}/layout:deb`,
      `docker://${reg.host}/deb:1`,
    ]);
    await pushFixtures(await fixtures(), reg.host);
    const ref = `${reg.host}/deb:1`;
    // pull: each run into empty storage.
    const ours: number[] = [], theirs: number[] = [], rss: number[] = [];
    for (let i = 0; i < runs; i++) {
      const root = `${work}/tsbox-${i}`;
      const t = await timed(Deno.execPath(), [
        "run",
        "--quiet",
        "--allow-all",
        main,
        "pull",
        "-q",
        ref,
      ], {
        TSBOX_ROOT: root,
      });
      ours.push(t.ms);
      rss.push(t.rssKb);
      const p = `${work}/podman-${i}`;
      const podman = [
        "--root",
        `${p}/root`,
        "--runroot",
        `${p}/run`,
        "--storage-driver",
        "overlay",
      ];
      theirs.push((await timed("podman", [...podman, "pull", "-q", "--tls-verify=false", ref])).ms);
      await host("podman", [...podman, "system", "reset", "-f"]).catch(() => {});
      if (i < runs - 1) await Deno.remove(root, { recursive: true });
    }
    const size = Number(
      (await host("du", ["-sb", `${work}/tsbox-${runs - 1}/blobs`])).stdout.split("\t")[0],
    );
    const ratio = median(ours) / median(theirs);
    console.log(
      `  pull ${(size / 1e6).toFixed(0)} MB (4 layers)   tsbox ${
        median(ours).toFixed(0)
      } ms   podman ${median(theirs).toFixed(0)} ms   ratio ${
        ratio.toFixed(2)
      } (goal <= 0.7)   tsbox peak RSS ${(Math.max(...rss) / 1024).toFixed(0)} MB (goal < 100)`,
    );
    summary.push(
      `pull tsbox/podman ${ratio.toFixed(2)} (<= 0.7), peak RSS ${
        (Math.max(...rss) / 1024).toFixed(0)
      } MB (< 100)`,
    );
    // extract: the largest layer blob, tsbox import vs tar -xzf.
    const blobs = `${work}/tsbox-${runs - 1}/blobs/sha256`;
    let big = "", bigSize = 0;
    for (const e of Deno.readDirSync(blobs)) {
      const s = Deno.statSync(`${blobs}/${e.name}`).size;
      if (s > bigSize) [big, bigSize] = [`${blobs}/${e.name}`, s];
    }
    const tx: number[] = [], gx: number[] = [];
    for (let i = 0; i < runs; i++) {
      const root = `${work}/x-${i}`;
      tx.push(
        (await timed(Deno.execPath(), ["run", "--quiet", "--allow-all", main, "import", big, "x"], {
          TSBOX_ROOT: root,
        })).ms,
      );
      await Deno.remove(root, { recursive: true });
      const dir = `${work}/tar-${i}`;
      await Deno.mkdir(dir);
      gx.push((await timed("tar", ["-C", dir, "-xzf", big])).ms);
      await Deno.remove(dir, { recursive: true });
    }
    const xr = median(tx) / median(gx);
    console.log(
      `  extract ${(bigSize / 1e6).toFixed(0)} MB gzip layer   tsbox import ${
        median(tx).toFixed(0)
      } ms   tar -xzf ${median(gx).toFixed(0)} ms   ratio ${xr.toFixed(2)} (goal <= 1.2)`,
    );
    summary.push(`extract tsbox/tar ${xr.toFixed(2)} (<= 1.2)`);
    // start: 120 layers vs 1.
    const root = `${work}/tsbox-${runs - 1}`;
    const env = { TSBOX_ROOT: root };
    const t = (args: string[]) =>
      timed(Deno.execPath(), ["run", "--quiet", "--allow-all", main, ...args], env);
    await t(["pull", "-q", `${reg.host}/many:1`]);
    await t(["import", `${repo}.cache/busybox-rootfs.tar`, "one:1"]);
    const one: number[] = [], many: number[] = [];
    for (let i = 0; i < Math.max(5, runs * 3); i++) {
      one.push((await t(["run", "--rm", "--network", "none", "one:1", "true"])).ms);
      many.push((await t(["run", "--rm", "--network", "none", `${reg.host}/many:1`, "true"])).ms);
    }
    const sr = median(many) / median(one);
    console.log(
      `  start   1 layer ${median(one).toFixed(0)} ms   120 layers ${
        median(many).toFixed(0)
      } ms   ratio ${sr.toFixed(2)} (goal <= 1.2)`,
    );
    summary.push(`start 120 layers / 1 layer ${sr.toFixed(2)} (<= 1.2)`);
    await host(Deno.execPath(), [
      "run",
      "--quiet",
      "--allow-all",
      `${repo}tests/lib/clear_stale.ts`,
    ]).catch(() => {});
  } finally {
    await reg.close();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return summary;
}

if (import.meta.main) {
  console.log("images");
  const s = await benchImages({ runs: Number(Deno.args[0] ?? 3) });
  console.log(s.join("\n"));
}
