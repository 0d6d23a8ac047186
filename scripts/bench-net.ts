// Benchmark: what a container's network costs.
//
//   ./scripts/deno run --allow-all scripts/bench-net.ts [--runs N] [--seconds S]
//
// 1. Setup time per container: `tsbox run --rm --trace busybox true` N times
//    on the default network; the "net: setup total" trace line gives the time
//    spent in src/net (before the clone: ports, lease, /etc/hosts, bridge
//    check; while the child waits: veth, address, route, rules). Median, with
//    and without a published port; the first run (which builds tsbox0 and the
//    nftables table) is reported apart. Bar: at most 15 ms.
// 2. Throughput with Debian's iperf3: host -> outside directly, container ->
//    outside (masquerade), outside -> a port published by a container (DNAT),
//    each as a ratio to the direct figure. Bar: published >= 0.9 of direct.
// Everything runs inside throwaway namespaces (tests/lib/netns.ts): a "host"
// where tsbox runs, joined to an "outside" by a veth; the machine's own
// network namespace is never changed. `deno task bench` calls benchNet().
// Needs root, busybox, nft and iperf3 (installed with apt-get if missing).

import { host, makeRoot } from "../tests/lib/harness.ts";
import { type Topology, waitFor, withTopology } from "../tests/lib/netns.ts";

/** What benchNet measured. Times in milliseconds, rates in Gbit/s. */
export interface NetBenchResult {
  runs: number;
  setup: {
    /** The first container: builds tsbox0 and the table. */
    firstUse: number;
    median: number;
    medianWithPort: number;
    /** Medians of the two phases, without a port. */
    prepare: number;
    attach: number;
  };
  throughput: {
    seconds: number;
    /** Rounds of the three measurements, interleaved. */
    repeat: number;
    direct: number;
    containerToOutside: number;
    outsideToPublished: number;
    ratioOut: number;
    ratioPublished: number;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The "net: setup total A ms before clone + B ms attach" line of a --trace run. */
function setupTimes(stderr: string): { prepare: number; attach: number } {
  const m = stderr.match(/net: setup total ([\d.]+) ms before clone \+ ([\d.]+) ms attach/);
  if (!m) throw new Error(`no "net: setup total" line in:\n${stderr}`);
  return { prepare: Number(m[1]), attach: Number(m[2]) };
}

async function setupRuns(t: Topology, runs: number, extra: string[]) {
  const out: { prepare: number; attach: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await t.tsbox(["run", "--rm", "--trace", ...extra, "busybox", "true"], { expect: 0 });
    out.push(setupTimes(r.stderr));
  }
  return out;
}

/** Median network setup time per container, from tsbox's own trace. */
export async function benchNetSetup(t: Topology, runs: number): Promise<NetBenchResult["setup"]> {
  const [first] = await setupRuns(t, 1, []);
  const plain = await setupRuns(t, runs, []);
  const withPort = await setupRuns(t, runs, ["-p", "8080:80"]);
  const total = (x: { prepare: number; attach: number }) => x.prepare + x.attach;
  return {
    firstUse: total(first!),
    median: median(plain.map(total)),
    medianWithPort: median(withPort.map(total)),
    prepare: median(plain.map((x) => x.prepare)),
    attach: median(plain.map((x) => x.attach)),
  };
}

/** Flags that let a busybox container run the host's iperf3 (see `ldd /usr/bin/iperf3`). */
const IPERF_MOUNTS = [
  "-v",
  "/usr/bin/iperf3:/usr/bin/iperf3:ro",
  "-v",
  "/usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:ro",
  "-v",
  "/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro",
  "-v",
  "/lib64:/lib64:ro",
];

function gbits(json: string): number {
  const r = JSON.parse(json) as { end?: { sum_received?: { bits_per_second: number } } };
  const bps = r.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`no iperf3 result in: ${json.slice(0, 500)}`);
  return bps / 1e9;
}

/** Runs an iperf3 server in the background (`-1`: one test, then exit). */
function iperfServer(cmd: string[]): Deno.ChildProcess {
  return new Deno.Command(cmd[0]!, { args: cmd.slice(1), stdout: "null", stderr: "piped" })
    .spawn();
}

async function iperfClient(
  run: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>,
  target: string,
  seconds: number,
  port = 5201,
): Promise<number> {
  const r = await waitFor(`iperf3 to ${target}:${port}`, async () => {
    const x = await run(["iperf3", "-c", target, "-p", String(port), "-t", String(seconds), "-J"]);
    return x.code === 0 && !/"error":/.test(x.stdout) ? x : undefined; // server not up yet
  }, 20_000);
  return gbits(r.stdout);
}

/** Throughput of the three paths, each the median of `repeat` iperf3 runs. */
export async function benchNetThroughput(
  t: Topology,
  seconds: number,
  repeat = 5,
): Promise<NetBenchResult["throughput"]> {
  const nsExec = (ns: Topology["host"]) => (args: string[]) => ns.run(args, { check: false });
  const direct: number[] = [], out: number[] = [], pub: number[] = [];
  for (let i = 0; i < repeat; i++) {
    // host -> outside, no tsbox involved.
    let srv = iperfServer(["nsenter", `--net=${t.outside.path}`, "iperf3", "-s", "-1"]);
    direct.push(await iperfClient(nsExec(t.host), t.outsideIp, seconds));
    await srv.output();
    // container -> outside, masqueraded.
    srv = iperfServer(["nsenter", `--net=${t.outside.path}`, "iperf3", "-s", "-1"]);
    out.push(
      await iperfClient(
        (args) => t.tsbox(["run", "--rm", ...IPERF_MOUNTS, "busybox", ...args]),
        t.outsideIp,
        seconds,
      ),
    );
    await srv.output();
    // outside -> a port published by a container.
    const web = t.spawnTsbox([
      "run",
      "--rm",
      "--name",
      "iperf-srv",
      "-p",
      "5301:5201",
      ...IPERF_MOUNTS,
      "busybox",
      "iperf3",
      "-s",
      "-1",
    ]);
    pub.push(await iperfClient(nsExec(t.outside), t.hostIp, seconds, 5301));
    await web.output();
  }
  // The machine's load changes from one round to the next: compare each
  // round with its own direct figure, then take the median of the ratios.
  return {
    seconds,
    repeat,
    direct: median(direct),
    containerToOutside: median(out),
    outsideToPublished: median(pub),
    ratioOut: median(out.map((o, i) => o / direct[i]!)),
    ratioPublished: median(pub.map((p, i) => p / direct[i]!)),
  };
}

async function ensureIperf3(): Promise<void> {
  const have = await host("sh", ["-c", "command -v iperf3"], { check: false });
  if (have.code === 0) return;
  await host("apt-get", ["install", "-y", "iperf3"]);
}

/** Runs both benchmarks in one throwaway topology. */
export async function benchNet(
  opts: { runs?: number; seconds?: number } = {},
): Promise<NetBenchResult> {
  await ensureIperf3();
  const runs = opts.runs ?? 20, seconds = opts.seconds ?? 5;
  const root = await makeRoot();
  let result: NetBenchResult | undefined;
  try {
    await withTopology(crypto.randomUUID().slice(0, 4), root, async (t) => {
      const setup = await benchNetSetup(t, runs);
      const throughput = await benchNetThroughput(t, seconds);
      result = { runs, setup, throughput };
    });
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  return result!;
}

/** Prints the figures and whether they meet the bars. */
export function printNetBench(r: NetBenchResult): void {
  const f = (n: number) => n.toFixed(2);
  const ok = (b: boolean) => (b ? "ok" : "ABOVE BAR");
  const s = r.setup, t = r.throughput;
  console.log(`network setup per container (median of ${r.runs}, from --trace):`);
  console.log(
    `  default network           ${f(s.median)} ms  (prepare ${f(s.prepare)} + attach ${
      f(s.attach)
    })  bar 15 ms: ${ok(s.median <= 15)}`,
  );
  console.log(
    `  with -p 8080:80           ${f(s.medianWithPort)} ms  bar 15 ms: ${
      ok(s.medianWithPort <= 15)
    }`,
  );
  console.log(`  first use (builds tsbox0) ${f(s.firstUse)} ms`);
  console.log(
    `iperf3 throughput (median of ${t.repeat} rounds of ${t.seconds} s; ratios per round):`,
  );
  console.log(`  host -> outside           ${f(t.direct)} Gbit/s`);
  console.log(
    `  container -> outside      ${f(t.containerToOutside)} Gbit/s  (${f(t.ratioOut)} of direct)`,
  );
  console.log(
    `  outside -> published port ${f(t.outsideToPublished)} Gbit/s  (${
      f(t.ratioPublished)
    } of direct)  bar 0.9: ${t.ratioPublished >= 0.9 ? "ok" : "BELOW BAR"}`,
  );
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Number(Deno.args[i + 1]) : undefined;
  };
  const r = await benchNet({
    ...(arg("--runs") !== undefined ? { runs: arg("--runs")! } : {}),
    ...(arg("--seconds") !== undefined ? { seconds: arg("--seconds")! } : {}),
  });
  printNetBench(r);
}
