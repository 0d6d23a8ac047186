// `deno task bench`: tsbox beside the reference tools, in one run.
//
//   version    scripts/tsbox --version  vs  an empty Deno script, interleaved (bar: <= 1.2)
//   startup    scripts/tsbox run --rm --network none busybox /bin/true  vs  runc run (same
//              rootfs), medians and ratio (bar: <= 1.5), clone-to-execve from --trace (bar: <= 5 ms)
//   cgroup     cgroup setup per container, with and without limits, beside runc (scripts/bench-cgroup.ts)
//   network    network setup per container (bar <= 15 ms) and iperf3 throughput ratios
//              (published port >= 0.9 of direct), in test namespaces only (scripts/bench-net.ts)
//   lifecycle  run -d and exec latency beside podman (runc runtime)
//   memory     host memory per idle container (USS and PSS) with 50 idle containers, tsbox vs conmon
//   ui         the tsbox ui server idle with 50 running containers and one browser: CPU (bar < 2%),
//              RSS beside the supervisor's, page heap and first paint (scripts/bench-ui.ts)
//   images     pull vs podman pull, layer extraction vs tar -xzf, peak RSS of a pull, start from
//              120 layers vs 1 (scripts/bench-image.ts)
//   logs       lateness of a quiet container's lines beside one running `yes`, run -d beside it
//              (scripts/bench-logs.ts)
//   oci        tsbox-runc beside runc: `run` of one bundle (goal <= 1.5x, with Deno's floors),
//              `ctr run --rm` through containerd's runc shim, `podman --runtime` (scripts/bench-oci.ts)
//   build      tsbox build vs podman build of a Python app and a multi-stage C program, cold
//              (bar <= 0.8) and fully cached (bar <= 0.3) (scripts/bench-build.ts)
//
//   deno task bench [--only startup,cgroup,...] [--runs N] [--baseline DIR (oci: another checkout)]
// Installs what it compares against (runc, podman, iperf3) with apt-get when missing.

import { cleanupRoot, host, makeRoot, tsbox, TSBOX_PERMS } from "../tests/lib/harness.ts";

const args = Deno.args;
const only = args.includes("--only") ? args[args.indexOf("--only") + 1]!.split(",") : undefined;
const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 30;
const want = (s: string) => !only || only.includes(s);
const main = new URL("../main.ts", import.meta.url).pathname;
const summary: string[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timeCmd(
  cmd: string,
  cmdArgs: string[],
  env: Record<string, string> = {},
): Promise<{ ms: number; out: string; err: string; code: number }> {
  const t0 = performance.now();
  const o = await new Deno.Command(cmd, { args: cmdArgs, env, stdout: "piped", stderr: "piped" })
    .output();
  const ms = performance.now() - t0;
  return {
    ms,
    out: new TextDecoder().decode(o.stdout),
    err: new TextDecoder().decode(o.stderr),
    code: o.code,
  };
}

async function ensure(pkg: string, bin: string): Promise<void> {
  if ((await host("sh", ["-c", `command -v ${bin}`], { check: false })).code === 0) return;
  console.log(`installing ${pkg} ...`);
  await host("apt-get", ["install", "-y", "-qq", pkg]);
}

const tsboxCmd = (root: string, ...a: string[]) =>
  timeCmd(Deno.execPath(), ["run", "--quiet", ...TSBOX_PERMS, main, ...a], { TSBOX_ROOT: root });
/** The way a user runs tsbox: scripts/tsbox. */
const script = new URL("./tsbox", import.meta.url).pathname;
const tsboxScript = (root: string, ...a: string[]) => timeCmd(script, a, { TSBOX_ROOT: root });

async function benchVersion(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-bench-empty-" });
  await Deno.writeTextFile(`${dir}/empty.ts`, "\n");
  const t: number[] = [], e: number[] = [];
  try {
    for (let i = 0; i < runs + 3; i++) {
      const a = await timeCmd(script, ["--version"]);
      const b = await timeCmd(Deno.execPath(), ["run", "--no-config", `${dir}/empty.ts`]);
      if (i >= 3) (t.push(a.ms), e.push(b.ms)); // the first runs warm the caches
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const ratio = median(t) / median(e);
  console.log(`version: scripts/tsbox --version beside an empty Deno script (median of ${runs})`);
  console.log(`  scripts/tsbox --version         ${median(t).toFixed(1)} ms`);
  console.log(`  deno run empty.ts               ${median(e).toFixed(1)} ms`);
  console.log(
    `  ratio                           ${ratio.toFixed(2)}   (bar <= 1.2: ${
      ratio <= 1.2 ? "ok" : "ABOVE BAR"
    })`,
  );
  summary.push(
    `--version ${median(t).toFixed(1)} ms, ratio to an empty script ${ratio.toFixed(2)} (<= 1.2)`,
  );
}

/** The busybox image's root filesystem: its one layer's directory (GraphDriver.Data.LowerDir). */
async function imageRootfs(root: string): Promise<string> {
  const doc = JSON.parse(
    (await tsbox(["inspect", "--type", "image", "busybox"], { root, expect: 0 })).stdout,
  )[0];
  const lower = String(doc.GraphDriver?.Data?.LowerDir ?? "").split(":");
  if (lower.length !== 1 || !lower[0]) throw new Error("the busybox image should have one layer");
  return await Deno.realPath(lower[0]); // l/<id> is a short link to the layer's diff/
}

async function runcBundle(rootfs: string, argv: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-bench-runc-" });
  await host("runc", ["spec", "--bundle", dir]);
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  cfg.root = { path: rootfs, readonly: true };
  cfg.process.args = argv;
  cfg.process.terminal = false;
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg));
  return dir;
}

async function benchStartup(root: string): Promise<void> {
  await ensure("runc", "runc");
  const bundle = await runcBundle(await imageRootfs(root), ["/bin/true"]);
  const t: number[] = [], r: number[] = [], c2e: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      await tsboxScript(root, "run", "--rm", "--network", "none", "busybox", "/bin/true");
      await timeCmd("runc", ["run", "--bundle", bundle, `bench-warm-${i}`]);
    }
    for (let i = 0; i < runs; i++) {
      const a = await tsboxScript(root, "run", "--rm", "--network", "none", "busybox", "/bin/true");
      if (a.code !== 0) throw new Error(`tsbox failed: ${a.err}`);
      t.push(a.ms);
      const b = await timeCmd("runc", ["run", "--bundle", bundle, `bench-${i}`]);
      if (b.code !== 0) throw new Error(`runc failed: ${b.err}`);
      r.push(b.ms);
      const tr = await tsboxCmd(
        root,
        "run",
        "--rm",
        "--network",
        "none",
        "--trace",
        "busybox",
        "/bin/true",
      );
      const m = tr.err.match(/clone-to-execve ([\d.]+) ms/);
      if (m) c2e.push(Number(m[1]));
    }
  } finally {
    await Deno.remove(bundle, { recursive: true });
  }
  const ratio = median(t) / median(r);
  console.log(`startup: /bin/true in a fresh container (median of ${runs}, interleaved)`);
  console.log(`  scripts/tsbox run --rm          ${median(t).toFixed(1)} ms`);
  console.log(`  runc run                        ${median(r).toFixed(1)} ms`);
  console.log(
    `  ratio tsbox/runc                ${ratio.toFixed(2)}   (bar <= 1.5: ${
      ratio <= 1.5 ? "ok" : "ABOVE BAR"
    })`,
  );
  console.log(
    `  clone-to-execve (--trace)       ${median(c2e).toFixed(2)} ms (bar <= 5 ms: ${
      median(c2e) <= 5 ? "ok" : "ABOVE BAR"
    })`,
  );
  summary.push(
    `startup ${median(t).toFixed(1)} vs runc ${median(r).toFixed(1)} ms, ratio ${
      ratio.toFixed(2)
    } (<= 1.5), clone-to-execve ${median(c2e).toFixed(2)} ms (<= 5)`,
  );
}

const PODMAN_ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]; // its defaults exceed this host's hard limits

async function podmanImage(): Promise<string> {
  await ensure("podman", "podman");
  const tar = `${new URL("../.cache/busybox-rootfs.tar", import.meta.url).pathname}`;
  await host("podman", ["import", tar, "localhost/tsbox-bench-busybox"]);
  return "localhost/tsbox-bench-busybox";
}

async function benchLifecycle(root: string): Promise<void> {
  const img = await podmanImage();
  const n = Math.min(runs, 15);
  const tRun: number[] = [], pRun: number[] = [], tExec: number[] = [], pExec: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = await tsboxCmd(
      root,
      "run",
      "-d",
      "--network",
      "none",
      "--name",
      `lat${i}`,
      "busybox",
      "sleep",
      "300",
    );
    if (a.code !== 0) throw new Error(a.err);
    tRun.push(a.ms);
    const b = await timeCmd("podman", [
      "run",
      "-d",
      "--network",
      "none",
      ...PODMAN_ULIMITS,
      "--name",
      `tsbox-bench-lat${i}`,
      img,
      "sleep",
      "300",
    ]);
    if (b.code !== 0) throw new Error(b.err);
    pRun.push(b.ms);
    tExec.push((await tsboxCmd(root, "exec", `lat${i}`, "true")).ms);
    pExec.push((await timeCmd("podman", ["exec", `tsbox-bench-lat${i}`, "true"])).ms);
  }
  await tsbox(["rm", "-f", ...Array.from({ length: n }, (_, i) => `lat${i}`)], { root });
  await host("podman", [
    "rm",
    "-f",
    "-t",
    "0",
    ...Array.from({ length: n }, (_, i) => `tsbox-bench-lat${i}`),
  ], { check: false });
  console.log(`lifecycle latency (median of ${n})`);
  console.log(
    `  run -d   tsbox ${median(tRun).toFixed(1)} ms   podman ${
      median(pRun).toFixed(1)
    } ms   ratio ${(median(tRun) / median(pRun)).toFixed(2)}`,
  );
  console.log(
    `  exec     tsbox ${median(tExec).toFixed(1)} ms   podman ${
      median(pExec).toFixed(1)
    } ms   ratio ${(median(tExec) / median(pExec)).toFixed(2)}`,
  );
  summary.push(
    `run -d ${median(tRun).toFixed(0)} ms vs podman ${median(pRun).toFixed(0)} ms; exec ${
      median(tExec).toFixed(0)
    } vs ${median(pExec).toFixed(0)} ms`,
  );
}

/** USS and PSS of a process in kB, from smaps_rollup. */
function memoryOf(pid: number): { uss: number; pss: number } {
  const t = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const kb = (k: string) => Number(t.match(new RegExp(`^${k}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
  return { uss: kb("Private_Clean") + kb("Private_Dirty"), pss: kb("Pss") };
}

function pidsByCmd(needle: RegExp): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (needle.test(Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " "))) {
        out.push(Number(e.name));
      }
    } catch { /* gone */ }
  }
  return out;
}

async function benchMemory(root: string): Promise<void> {
  const n = 50;
  const img = await podmanImage();
  const supervisor = () =>
    pidsByCmd(/main\.ts supervise/).filter((p) =>
      Deno.readTextFileSync(`/proc/${p}/environ`).includes(`TSBOX_ROOT=${root}`)
    );
  // The supervisor with one container, once it has been quiet long enough to
  // trim (src/supervisor/trim.ts): its fixed cost.
  await tsbox(["run", "-d", "--network", "none", "--name", "idle0", "busybox", "sleep", "600"], {
    root,
    expect: 0,
  });
  await new Promise((r) => setTimeout(r, 2000));
  const one = supervisor().map(memoryOf)[0] ?? { uss: 0, pss: 0 };
  await Promise.all(
    Array.from(
      { length: n - 1 },
      (_, j) => j + 1,
    ).map(
      (i) =>
        tsbox(["run", "-d", "--network", "none", "--name", `idle${i}`, "busybox", "sleep", "600"], {
          root,
          expect: 0,
        }),
    ),
  );
  for (let i = 0; i < n; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, j) =>
        host("podman", [
          "run",
          "-d",
          "--network",
          "none",
          ...PODMAN_ULIMITS,
          "--name",
          `tsbox-bench-idle${i + j}`,
          img,
          "sleep",
          "600",
        ])),
    );
  }
  await new Promise((r) => setTimeout(r, 1000));
  const sup = supervisor();
  const conmons = pidsByCmd(/^\/usr\/bin\/conmon .*tsbox-bench-idle/);
  const sum = (ps: number[]) =>
    ps.map(memoryOf).reduce((a, m) => ({ uss: a.uss + m.uss, pss: a.pss + m.pss }), {
      uss: 0,
      pss: 0,
    });
  const s = sum(sup), c = sum(conmons);
  await tsbox(["rm", "-f", ...Array.from({ length: n }, (_, i) => `idle${i}`)], { root });
  await host("podman", [
    "rm",
    "-f",
    "-t",
    "0",
    ...Array.from({ length: n }, (_, i) => `tsbox-bench-idle${i}`),
  ], { check: false });
  const mb = (kb: number) => (kb / 1024).toFixed(2);
  console.log(
    `host memory per idle container, ${n} containers (what watches them; the containers' own processes excluded)`,
  );
  console.log(
    `  tsbox supervisor (1 process)   USS ${mb(s.uss / n)} MB   PSS ${
      mb(s.pss / n)
    } MB   (total USS ${mb(s.uss)} MB)`,
  );
  console.log(
    `  podman conmon (${conmons.length} processes)    USS ${
      mb(c.uss / Math.max(1, conmons.length))
    } MB   PSS ${mb(c.pss / Math.max(1, conmons.length))} MB`,
  );
  const marginal = (s.uss - one.uss) / (n - 1);
  const cUss = c.uss / Math.max(1, conmons.length);
  const evenAt = cUss > marginal ? Math.ceil(one.uss / (cUss - marginal)) : Infinity;
  console.log(
    `  tsbox: supervisor with 1 container USS ${mb(one.uss)} MB, each further container ${
      mb(marginal)
    } MB; per-container USS at conmon's level from ${evenAt} containers`,
  );
  summary.push(
    `memory per idle container: tsbox USS ${mb(s.uss / n)} / PSS ${mb(s.pss / n)} MB, conmon USS ${
      mb(c.uss / Math.max(1, conmons.length))
    } / PSS ${mb(c.pss / Math.max(1, conmons.length))} MB`,
  );
}

if (Deno.uid() !== 0) {
  console.error("deno task bench: run as root");
  Deno.exit(1);
}
const root = await makeRoot();
try {
  if (want("version")) await benchVersion();
  if (want("startup")) await benchStartup(root);
  if (want("cgroup")) {
    const { benchCgroup } = await import("./bench-cgroup.ts");
    const r = await benchCgroup({ runs: Math.min(runs, 15) });
    summary.push(
      `cgroup setup (in process, no limits / limits): ${r.inProcess.plain.total.toFixed(2)} / ${
        r.inProcess.limits.total.toFixed(2)
      } ms`,
    );
  }
  if (want("network")) {
    const { benchNet, printNetBench } = await import("./bench-net.ts");
    const r = await benchNet({ runs: Math.min(runs, 20) });
    printNetBench(r);
    summary.push(
      `network setup ${r.setup.median.toFixed(2)} ms (<= 15), published/direct ${
        r.throughput.ratioPublished.toFixed(2)
      } (>= 0.9)`,
    );
  }
  if (want("lifecycle")) await benchLifecycle(root);
  if (want("memory")) await benchMemory(root);
  if (want("ui")) {
    const { benchUi, printUiBench } = await import("./bench-ui.ts");
    summary.push(printUiBench(await benchUi(root)));
  }
  if (want("images")) {
    console.log("images");
    const { benchImages } = await import("./bench-image.ts");
    summary.push(...await benchImages({ runs: Math.min(runs, 3) }));
  }
  if (want("logs")) {
    const { benchLogs, printLogsBench } = await import("./bench-logs.ts");
    summary.push(printLogsBench(await benchLogs()));
  }
  if (want("oci")) {
    await ensure("runc", "runc");
    await ensure("containerd", "containerd");
    await ensure("podman", "podman");
    const { benchOci } = await import("./bench-oci.ts");
    const baseline = args.includes("--baseline") ? args[args.indexOf("--baseline") + 1] : undefined;
    summary.push(
      ...await benchOci({ runs: Math.min(runs, 20), ...(baseline ? { baseline } : {}) }),
    );
  }
  if (want("build")) {
    console.log("build");
    const { benchBuild } = await import("./bench-build.ts");
    summary.push(...await benchBuild({ runs: Math.min(runs, 3) }));
  }
} finally {
  await cleanupRoot(root);
}
console.log("\nsummary");
for (const s of summary) console.log(`  ${s}`);
