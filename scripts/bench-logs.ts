// `deno task bench --only logs`: one container writing without pause must
// not delay the others. A quiet container prints the kernel's uptime every
// 100 ms; the supervisor stamps each line when it reads it, so the
// lateness of a line is its stamp minus the time it was printed (the same
// clock: uptime is not namespaced). Measured alone, then beside a container
// running `yes`; also `run -d` latency, alone and beside the flood.
//
//   ./scripts/deno run --allow-all scripts/bench-logs.ts

import { cleanupRoot, makeRoot, tsbox, TSBOX_PERMS } from "../tests/lib/harness.ts";

const main = new URL("../main.ts", import.meta.url).pathname;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Wall-clock milliseconds of boot (wall now - uptime now). */
function bootWallMs(): number {
  const up = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 1000;
  return Date.now() - up;
}

async function quietLateness(root: string, name: string): Promise<number[]> {
  await tsbox([
    "run",
    "-d",
    "--network",
    "none",
    "--name",
    name,
    "busybox",
    "sh",
    "-c",
    'i=0; while [ $i -lt 40 ]; do read up rest < /proc/uptime; echo "$up"; sleep 0.1; i=$((i+1)); done',
  ], { root, expect: 0 });
  await tsbox(["wait", name], { root, expect: 0 });
  const boot = bootWallMs();
  const logs = (await tsbox(["logs", "-t", name], { root, expect: 0 })).stdout;
  return logs.trim().split("\n").map((l) => {
    const [stamp, up] = l.split(" ") as [string, string];
    return Date.parse(stamp) - (boot + Number(up) * 1000);
  });
}

async function runDLatency(root: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const o = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...TSBOX_PERMS,
        main,
        "run",
        "-d",
        "--network",
        "none",
        "busybox",
        "true",
      ],
      env: { TSBOX_ROOT: root },
      stdout: "null",
      stderr: "null",
    }).output();
    out.push(performance.now() - t0);
    if (o.code !== 0) throw new Error("run -d failed");
  }
  return out;
}

/** Lateness of a quiet container's lines and run -d latency, alone and beside a flood. */
export async function benchLogs(): Promise<
  { alone: number[]; flood: number[]; runAlone: number[]; runFlood: number[] }
> {
  const root = await makeRoot();
  try {
    // A container that keeps the supervisor alive meanwhile.
    await tsbox(["run", "-d", "--network", "none", "--name", "keep", "busybox", "sleep", "600"], {
      root,
      expect: 0,
    });
    const alone = await quietLateness(root, "alone");
    const runAlone = await runDLatency(root, 10);
    await tsbox([
      "run",
      "-d",
      "--network",
      "none",
      "--name",
      "flood",
      "--log-opt",
      "max-size=20m",
      "--log-opt",
      "max-file=2",
      "busybox",
      "yes",
      "a line of output from a container that never stops writing",
    ], { root, expect: 0 });
    await new Promise((r) => setTimeout(r, 1000));
    const flood = await quietLateness(root, "beside-flood");
    const runFlood = await runDLatency(root, 10);
    return { alone, flood, runAlone, runFlood };
  } finally {
    await cleanupRoot(root);
  }
}

/** Prints the figures; returns the summary line. */
export function printLogsBench(r: Awaited<ReturnType<typeof benchLogs>>): string {
  const f = (xs: number[]) =>
    `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
  console.log("logs: a quiet container's lines, stamped by the supervisor (lateness)");
  console.log(`  alone                           ${f(r.alone)}`);
  console.log(`  beside a container running yes  ${f(r.flood)}`);
  console.log("  run -d --network none busybox true");
  console.log(`  alone                           ${f(r.runAlone)}`);
  console.log(`  beside the flood                ${f(r.runFlood)}`);
  return `log lateness beside a flood: median ${median(r.flood).toFixed(0)} ms, max ${
    Math.max(...r.flood).toFixed(0)
  } ms; run -d beside it: median ${median(r.runFlood).toFixed(0)} ms`;
}

if (import.meta.main) printLogsBench(await benchLogs());
