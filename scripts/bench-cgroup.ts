// Benchmark: what a container's cgroup costs, beside runc.
//
//   ./scripts/deno run --allow-all scripts/bench-cgroup.ts [--runs N]
//
// 1. In process, as tsbox does it per container (src/container/cgroup.ts):
//    create the group with its limits (always with Docker's device list),
//    place a process in it, destroy it. Median of N, without limits and with
//    --memory 64m --pids-limit 100 --cpus 1.
// 2. End to end: `tsbox run --rm --network none busybox true` with and
//    without those limits, and `runc run` of a bundle made from the same
//    busybox root filesystem, with and without linux.resources. The difference
//    between the two rows of each runtime is what the limits cost.
// `deno task bench` calls benchCgroup(); needs root, busybox and runc.

import { DOCKER_DEFAULT_DEVICE_RULES } from "../src/cgroups/default_devices.ts";
import { detectCgroups } from "../src/cgroups/detect.ts";
import { driverFor } from "../src/cgroups/open.ts";
import type { CgroupResources } from "../src/cgroups/resources.ts";
import { cleanupRoot, makeRoot, tsbox } from "../tests/lib/harness.ts";

/** Medians in milliseconds. */
export interface CgroupBenchResult {
  runs: number;
  mode: string;
  /** Detecting the layout and making the driver (once per tsbox process). */
  openMs: number;
  inProcess: Record<
    "plain" | "limits",
    { create: number; place: number; destroy: number; total: number }
  >;
  endToEnd: {
    tsbox: number;
    tsboxLimits: number;
    runc?: number;
    runcLimits?: number;
  };
}

const LIMITS: CgroupResources = {
  memory: { limit: 64 << 20, swap: 128 << 20 },
  pids: { limit: 100 },
  cpu: { quota: 100_000, period: 100_000 },
};
const LIMIT_FLAGS = ["--memory", "64m", "--pids-limit", "100", "--cpus", "1"];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function inProcess(runs: number) {
  const t0 = performance.now();
  const driver = driverFor(detectCgroups());
  const openMs = performance.now() - t0;
  const out = {} as CgroupBenchResult["inProcess"];
  for (const [name, limits] of [["plain", {}], ["limits", LIMITS]] as const) {
    const samples = { create: [] as number[], place: [] as number[], destroy: [] as number[] };
    for (let i = 0; i < runs; i++) {
      const path = `tsbox-bench-${crypto.randomUUID().slice(0, 8)}`;
      const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
      let t = performance.now();
      driver.create(path, { ...limits, devices: [...DOCKER_DEFAULT_DEVICE_RULES] });
      samples.create.push(performance.now() - t);
      t = performance.now();
      driver.addProcess(path, child.pid);
      samples.place.push(performance.now() - t);
      child.kill("SIGKILL");
      await child.status;
      t = performance.now();
      await driver.destroy(path);
      samples.destroy.push(performance.now() - t);
      // A real `tsbox run` places its first process once per process: let
      // the kernel's cgroup rwsem go idle between runs, as it would then.
      await new Promise((r) => setTimeout(r, 50));
    }
    const create = median(samples.create), place = median(samples.place);
    const destroy = median(samples.destroy);
    out[name] = { create, place, destroy, total: create + place + destroy };
  }
  return { openMs, inProcess: out, mode: driver.mode };
}

async function which(cmd: string): Promise<boolean> {
  for (const d of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    if (await Deno.stat(`${d}/${cmd}`).then(() => true, () => false)) return true;
  }
  return false;
}

/** A runc bundle over `rootfs` running `true`; `limits` adds linux.resources. */
async function runcBundle(dir: string, rootfs: string, limits: boolean): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const spec = await new Deno.Command("runc", { args: ["spec"], cwd: dir }).output();
  if (!spec.success) throw new Error(`runc spec: ${new TextDecoder().decode(spec.stderr)}`);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  config.process.terminal = false;
  config.process.args = ["true"];
  config.root = { path: rootfs, readonly: true };
  config.linux.cgroupsPath = `/runc-bench/${limits ? "limits" : "plain"}`;
  if (limits) {
    config.linux.resources = {
      ...config.linux.resources,
      memory: { limit: 64 << 20, swap: 128 << 20 },
      pids: { limit: 100 },
      cpu: { quota: 100_000, period: 100_000 },
    };
  } else {
    delete config.linux.resources;
  }
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
}

async function endToEnd(runs: number): Promise<CgroupBenchResult["endToEnd"]> {
  const root = await makeRoot();
  const tmp = await Deno.makeTempDir({ prefix: "bench-cgroup-" });
  try {
    const run = (extra: string[]) => async () => {
      await tsbox(["run", "--rm", "--network", "none", ...extra, "busybox", "true"], {
        root,
        expect: 0,
      });
    };
    const hasRunc = await which("runc");
    const [image] = [...Deno.readDirSync(`${root}/images`)];
    const rootfs = `${root}/images/${image!.name}/rootfs`;
    if (hasRunc) {
      await runcBundle(`${tmp}/plain`, rootfs, false);
      await runcBundle(`${tmp}/limits`, rootfs, true);
    }
    const runc = (bundle: string) => async () => {
      const o = await new Deno.Command("runc", {
        args: ["--root", `${tmp}/state`, "run", "--bundle", `${tmp}/${bundle}`, `bench-${bundle}`],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!o.success) throw new Error(`runc run: ${new TextDecoder().decode(o.stderr)}`);
    };
    const s = {
      tsbox: [] as number[],
      tsboxLimits: [] as number[],
      runc: [] as number[],
      runcLimits: [] as number[],
    };
    await run([])(); // warm caches (Deno's module cache, the image's pages)
    if (hasRunc) await runc("plain")();
    for (let i = 0; i < runs; i++) {
      s.tsbox.push(await timed(run([])));
      s.tsboxLimits.push(await timed(run(LIMIT_FLAGS)));
      if (hasRunc) {
        s.runc.push(await timed(runc("plain")));
        s.runcLimits.push(await timed(runc("limits")));
      }
    }
    return {
      tsbox: median(s.tsbox),
      tsboxLimits: median(s.tsboxLimits),
      ...(hasRunc ? { runc: median(s.runc), runcLimits: median(s.runcLimits) } : {}),
    };
  } finally {
    await cleanupRoot(root);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    const layout = detectCgroups();
    for (const dir of [...new Set([...Object.values(layout.v1), layout.v2Root])]) {
      if (dir) await Deno.remove(`${dir}/runc-bench`).catch(() => {});
    }
  }
}

/**
 * Measures and prints the cost of cgroup setup per container (median of
 * `runs`), in process and end to end, beside runc's. Requires root.
 */
export async function benchCgroup(
  opts: { runs?: number; print?: boolean } = {},
): Promise<CgroupBenchResult> {
  const runs = opts.runs ?? 15;
  const ip = await inProcess(runs);
  const e2e = await endToEnd(runs);
  const result: CgroupBenchResult = { runs, ...ip, endToEnd: e2e };
  if (opts.print !== false) {
    const f = (n: number | undefined) =>
      (n === undefined ? "-" : `${n.toFixed(2)} ms`).padStart(10);
    const row = (
      label: string,
      r: { create: number; place: number; destroy: number; total: number },
    ) => `  ${label.padEnd(42)}${f(r.create)}${f(r.place)}${f(r.destroy)}${f(r.total)}`;
    console.log(`cgroup setup per container (${result.mode} host, median of ${runs})`);
    console.log(`  detect layout + open driver (once per process): ${result.openMs.toFixed(2)} ms`);
    console.log(
      `  ${"in process (place: cgroup.procs)".padEnd(42)}${
        ["create", "place", "destroy", "total"].map((h) => h.padStart(10)).join("")
      }`,
    );
    console.log(row("no limits (Docker's device list only)", result.inProcess.plain));
    console.log(row("--memory 64m --pids-limit 100 --cpus 1", result.inProcess.limits));
    console.log(
      "  (place = the parent writing the pid to cgroup.procs, with its RCU wait; `tsbox run` avoids it:\n" +
        "   the child moves itself into v1 groups and clone3 starts it in the cgroup2 group)",
    );
    const d = (
      a?: number,
      b?: number,
    ) => (a === undefined || b === undefined
      ? ""
      : `  (limits: ${(b - a) >= 0 ? "+" : ""}${(b - a).toFixed(2)} ms)`);
    console.log("  end to end (wall time of the command)");
    console.log(`  ${"tsbox run --rm --network none busybox true".padEnd(52)}${f(e2e.tsbox)}`);
    console.log(
      `  ${"  ... --memory 64m --pids-limit 100 --cpus 1".padEnd(52)}${f(e2e.tsboxLimits)}${
        d(e2e.tsbox, e2e.tsboxLimits)
      }`,
    );
    console.log(`  ${"runc run (no linux.resources)".padEnd(52)}${f(e2e.runc)}`);
    console.log(
      `  ${"runc run (memory, pids, cpu)".padEnd(52)}${f(e2e.runcLimits)}${
        d(e2e.runc, e2e.runcLimits)
      }`,
    );
  }
  return result;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--runs");
  await benchCgroup(i >= 0 ? { runs: Number(Deno.args[i + 1]) } : {});
}
