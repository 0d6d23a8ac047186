// Build benchmarks for `deno task bench` (section "build"), tsbox beside
// `podman build` in the same run, on loopback only (RUN steps with
// --network none, a registry on 127.0.0.1):
//   python   the Python app on Debian + python3 (installs a .deb from its context)
//   c        the multi-stage build: gcc in a Debian stage, the static binary in scratch
// For each: a cold build (--no-cache; the base images are local) and a fully
// cached rebuild, medians of N runs; goals: tsbox <= 0.8x Podman cold and
// <= 0.3x Podman cached. tsbox's supervisor is kept up by one idle container
// (as dockerd is for docker build).

import { host } from "../tests/lib/harness.ts";
import { cProgramContext, pushDebian, pythonAppContext } from "../tests/lib/build_fixtures.ts";
import { startRegistry } from "../tests/lib/registry.ts";

const repo = new URL("../", import.meta.url).pathname;
const main = `${repo}main.ts`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timed(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  const t0 = performance.now();
  const o = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).output();
  const ms = performance.now() - t0;
  if (o.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")}: exit ${o.code}: ${new TextDecoder().decode(o.stderr)}`,
    );
  }
  return ms;
}

/** Runs the build benchmarks; returns summary lines. */
export async function benchBuild(opts: { runs?: number } = {}): Promise<string[]> {
  const runs = opts.runs ?? 3;
  const summary: string[] = [];
  const reg = await startRegistry();
  const work = await Deno.makeTempDir({ prefix: "tsbox-bench-build-" });
  const root = `${work}/tsbox`;
  const podmanArgs = [
    "--root",
    `${work}/podman/root`,
    "--runroot",
    `${work}/podman/run`,
    "--tmpdir",
    `${work}/podman/tmp`,
    "--storage-driver",
    "overlay",
    "--cgroup-manager",
    "cgroupfs",
  ];
  const tsbox = (...a: string[]) =>
    timed(Deno.execPath(), ["run", "--quiet", "--allow-all", main, ...a], { TSBOX_ROOT: root });
  const podman = (...a: string[]) => timed("podman", [...podmanArgs, ...a]);
  const contexts: string[] = [];
  try {
    const refs = await pushDebian(reg.host);
    for (const ref of [refs.python, refs.gcc]) {
      await tsbox("pull", "-q", ref);
      await podman("pull", "-q", "--tls-verify=false", ref);
    }
    // One idle container keeps tsbox's supervisor up, as dockerd is for `docker build`
    // (and as on a machine that runs containers): its start is not part of a build.
    await tsbox("run", "-d", "--name", "keepalive", "--network", "none", refs.gcc, "sleep", "3600");
    const cases: [string, string][] = [
      ["python app", await pythonAppContext(refs.python)],
      ["multi-stage C", await cProgramContext(refs.gcc)],
    ];
    contexts.push(...cases.map(([, c]) => c));
    for (const [name, ctx] of cases) {
      const build = ["build", "-q", "--network", "none", "-t", "bench:1"];
      const pbuild = [...build, "--format", "docker", "--layers"];
      const t = { cold: [] as number[], cached: [] as number[] };
      const p = { cold: [] as number[], cached: [] as number[] };
      // Warm-up: caches of the kernel and of each tool's own files.
      await tsbox(...build, ctx);
      await podman(...pbuild, ctx);
      for (let i = 0; i < runs; i++) {
        t.cold.push(await tsbox(...build, "--no-cache", ctx));
        t.cached.push(await tsbox(...build, ctx));
        p.cold.push(await podman(...pbuild, "--no-cache", ctx));
        p.cached.push(await podman(...pbuild, ctx));
      }
      for (const kind of ["cold", "cached"] as const) {
        const ours = median(t[kind]), theirs = median(p[kind]);
        const ratio = ours / theirs;
        const goal = kind === "cold" ? 0.8 : 0.3;
        const line = `build ${name} ${kind}: tsbox ${ours.toFixed(0)} ms, podman ${
          theirs.toFixed(0)
        } ms, ratio ${ratio.toFixed(2)} (goal <= ${goal}) ${ratio <= goal ? "ok" : "MISSED"}`;
        console.log(`  ${line}`);
        summary.push(line);
      }
    }
  } finally {
    await tsbox("rm", "-f", "keepalive").catch(() => {});
    await host("podman", [...podmanArgs, "system", "reset", "-f"], { check: false });
    for (const c of contexts) await Deno.remove(c, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await reg.close();
  }
  return summary;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--runs");
  for (const l of await benchBuild({ runs: i >= 0 ? Number(Deno.args[i + 1]) : 3 })) {
    console.log(l);
  }
}
