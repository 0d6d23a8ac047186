// tsbox-runc beside runc, in one run (the `oci` part of `deno task bench`):
//
//   run      `run` of the same bundle (/bin/true): runc, tsbox-runc as shipped
//            (scripts/tsbox-runc: one bundled file), tsbox-runc from its
//            sources through main.ts (the way the first launcher ran it), and
//            Deno's floors: a bare `deno run` of an empty script, and
//            `tsbox-runc --version` (Deno, the launcher and loading tsbox's
//            code). Goal of issue 10: <= 1.5x runc's wall time.
//   ctr      `ctr run --rm` of the same root through containerd's runc shim
//            (io.containerd.runc.v2), with runc and with tsbox-runc
//   podman   `podman run --rm --network none` with --runtime runc and tsbox-runc
//
//   deno run -A scripts/bench-oci.ts [--only run,ctr,podman] [--runs N] [--baseline DIR]
// --baseline DIR adds a row for DIR/scripts/tsbox-runc (another checkout, e.g.
// `git archive COMMIT | tar -x -C DIR`): before and after, side by side.
// Needs root, runc, containerd and podman (scripts/setup --bench). containerd
// and Podman run on private directories inside a network namespace made here.

import { busyboxTarball, host } from "../tests/lib/harness.ts";
import { Containerd } from "../tests/oci/containerd.ts";
import { Podman } from "../tests/oci/podman.ts";

const repo = new URL("../", import.meta.url).pathname;
const tsboxRunc = `${repo}scripts/tsbox-runc`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function time(cmd: string, cmdArgs: string[]): Promise<number> {
  const t0 = performance.now();
  const o = await new Deno.Command(cmd, { args: cmdArgs, stdout: "null", stderr: "piped" })
    .output();
  const ms = performance.now() - t0;
  if (o.code !== 0) {
    throw new Error(`${cmd} ${cmdArgs.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  }
  return ms;
}

/** Medians of each command, measured in turns (a, b, c, a, b, c, ...) so drift hits all alike. */
async function interleaved(
  runs: number,
  cmds: { name: string; run: () => Promise<number> }[],
): Promise<Map<string, number>> {
  for (const c of cmds) await c.run(); // warm caches (and the bundle)
  const ms = new Map(cmds.map((c) => [c.name, [] as number[]]));
  for (let i = 0; i < runs; i++) {
    for (const c of cmds) ms.get(c.name)!.push(await c.run());
  }
  const out = new Map<string, number>();
  for (const c of cmds) {
    const m = median(ms.get(c.name)!);
    out.set(c.name, m);
    console.log(`  ${c.name.padEnd(44)} ${m.toFixed(1).padStart(7)} ms`);
  }
  return out;
}

/** What the oci part measured: medians in ms by row name, and one summary line per part. */
export interface OciBenchResult {
  medians: Map<string, number>;
  summary: string[];
}

async function benchRun(dir: string, runs: number, baseline?: string): Promise<string> {
  await Deno.mkdir(`${dir}/b/rootfs`, { recursive: true });
  await host("tar", ["-xf", await busyboxTarball(), "-C", `${dir}/b/rootfs`]);
  await time(tsboxRunc, ["spec", "--bundle", `${dir}/b`]);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/b/config.json`));
  config.process.terminal = false;
  config.process.args = ["/bin/true"];
  await Deno.writeTextFile(`${dir}/b/config.json`, JSON.stringify(config));
  await Deno.writeTextFile(`${dir}/empty.ts`, "");
  const run = (bin: string[], root: string) => () =>
    time(bin[0]!, [
      ...bin.slice(1),
      "--root",
      `${dir}/${root}`,
      "run",
      "--bundle",
      `${dir}/b`,
      "x",
    ]);
  const fromSources = [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-all",
    `${repo}main.ts`,
    "runtime",
  ];
  console.log(`run of one bundle (/bin/true), median of ${runs}`);
  const m = await interleaved(runs, [
    { name: "runc run", run: run(["runc"], "runc") },
    { name: "tsbox-runc run (scripts/tsbox-runc)", run: run([tsboxRunc], "ts") },
    { name: "tsbox-runc run from sources (main.ts runtime)", run: run(fromSources, "src") },
    ...(baseline
      ? [{
        name: "tsbox-runc run (--baseline)",
        run: run([`${baseline}/scripts/tsbox-runc`], "base"),
      }]
      : []),
    {
      name: "deno run (empty script)",
      run: () => time(Deno.execPath(), ["run", "--quiet", `${dir}/empty.ts`]),
    },
    { name: "tsbox-runc --version", run: () => time(tsboxRunc, ["--version"]) },
  ]);
  const runc = m.get("runc run")!, ts = m.get("tsbox-runc run (scripts/tsbox-runc)")!;
  const deno = m.get("deno run (empty script)")!, version = m.get("tsbox-runc --version")!;
  const src = m.get("tsbox-runc run from sources (main.ts runtime)")!;
  const base = m.get("tsbox-runc run (--baseline)");
  const line = `tsbox-runc run ${ts.toFixed(1)} ms, runc ${runc.toFixed(1)} ms: ratio ${
    (ts / runc).toFixed(2)
  } (goal <= 1.5; from sources ${(src / runc).toFixed(2)}${
    base ? `, baseline ${(base / runc).toFixed(2)}` : ""
  }); Deno's start ${deno.toFixed(1)} ms, launcher and code loading ${
    (version - deno).toFixed(1)
  } ms, the container's work ${(ts - version).toFixed(1)} ms`;
  console.log(`  ${line}`);
  return line;
}

async function benchCtr(dir: string, runs: number): Promise<string> {
  const c = await Containerd.start(dir);
  try {
    let n = 0;
    const run = (runtime: string) => () => {
      const id = `bench${++n}`;
      return time("ctr", [
        "--address",
        c.socket,
        ...c.runArgs(id, ["--rm"], ["/bin/true"], runtime),
      ]).finally(() => c.ids.delete(id));
    };
    console.log(`ctr run --rm through containerd's runc shim (/bin/true), median of ${runs}`);
    const m = await interleaved(runs, [
      { name: "ctr run --rm, runc", run: run("runc") },
      { name: "ctr run --rm, tsbox-runc", run: run(tsboxRunc) },
    ]);
    const r = m.get("ctr run --rm, runc")!, t = m.get("ctr run --rm, tsbox-runc")!;
    const line = `ctr run --rm: tsbox-runc ${t.toFixed(1)} ms, runc ${r.toFixed(1)} ms, ratio ${
      (t / r).toFixed(2)
    }`;
    console.log(`  ${line}`);
    return line;
  } finally {
    await c.stop();
  }
}

async function benchPodman(dir: string, runs: number): Promise<string> {
  const p = await Podman.make(dir);
  try {
    const run = (runtime: string) => async () => {
      p.runtime = runtime;
      const t0 = performance.now();
      const r = await p.run(["run", "--rm", "--network", "none", "localhost/busybox", "true"]);
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`podman --runtime ${runtime} run: ${r.stderr}`);
      return ms;
    };
    console.log(`podman run --rm --network none (true), median of ${runs}`);
    const m = await interleaved(runs, [
      { name: "podman --runtime runc", run: run("runc") },
      { name: "podman --runtime tsbox-runc", run: run(tsboxRunc) },
    ]);
    const r = m.get("podman --runtime runc")!, t = m.get("podman --runtime tsbox-runc")!;
    const line = `podman run --rm: tsbox-runc ${t.toFixed(1)} ms, runc ${r.toFixed(1)} ms, ratio ${
      (t / r).toFixed(2)
    }`;
    console.log(`  ${line}`);
    return line;
  } finally {
    await p.cleanup();
  }
}

/** Runs the parts asked for (default all) and prints them; requires root. */
export async function benchOci(
  opts: { runs?: number; only?: string[]; baseline?: string } = {},
): Promise<string[]> {
  const runs = opts.runs ?? 20;
  const want = (s: string) => !opts.only || opts.only.includes(s);
  const dir = await Deno.makeTempDir({ prefix: "tsbox-oci-bench-" });
  const summary: string[] = [];
  try {
    if (want("run")) summary.push(await benchRun(dir, runs, opts.baseline));
    if (want("ctr")) summary.push(await benchCtr(dir, Math.min(runs, 15)));
    if (want("podman")) summary.push(await benchPodman(dir, Math.min(runs, 10)));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return summary;
}

if (import.meta.main) {
  const args = Deno.args;
  const arg = (name: string) => args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
  const runs = arg("--runs");
  const only = arg("--only");
  const baseline = arg("--baseline");
  const summary = await benchOci({
    ...(runs ? { runs: Number(runs) } : {}),
    ...(only ? { only: only.split(",") } : {}),
    ...(baseline ? { baseline } : {}),
  });
  console.log(summary.join("\n"));
}
