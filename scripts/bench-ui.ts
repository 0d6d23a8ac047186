// `deno task bench --only ui`: the `tsbox ui` server idle with 50 running
// containers and one headless Chromium on the containers page (live feed,
// sparklines): the server's CPU over 20 s (bar: < 2% of one core) from
// /proc/PID/stat, its RSS beside the supervisor's, and the page's JS heap
// (bar: < 5 MB) and first contentful paint (bar: < 500 ms). Containers use
// --network none and the server listens on 127.0.0.1: no packets leave loopback.

import { tsbox } from "../tests/lib/harness.ts";
import { Browser } from "../tests/lib/browser.ts";
import { startUi } from "../tests/lib/ui.ts";

const HZ = 100; // USER_HZ of /proc/PID/stat

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m ? Number(m[1]) / 1024 : 0;
}

function supervisorOf(root: string): number | undefined {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (
        /main\.ts supervise/.test(cmd) &&
        Deno.readTextFileSync(`/proc/${e.name}/environ`).includes(`TSBOX_ROOT=${root}`)
      ) return Number(e.name);
    } catch { /* gone */ }
  }
  return undefined;
}

/** What the ui bench measured. */
export interface UiBench {
  containers: number;
  seconds: number;
  cpuPercent: number;
  supervisorCpuPercent: number;
  uiRssMb: number;
  supervisorRssMb: number;
  heapMb: number;
  firstPaintMs: number;
}

/** Runs the bench in state root `root` (busybox imported); leaves no container behind. */
export async function benchUi(
  root: string,
  opts: { containers?: number; seconds?: number } = {},
): Promise<UiBench> {
  const n = opts.containers ?? 50, seconds = opts.seconds ?? 20;
  const names = Array.from({ length: n }, (_, i) => `uibench${i}`);
  for (let i = 0; i < n; i += 10) {
    await Promise.all(
      names.slice(i, i + 10).map((name) =>
        tsbox(["run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "3600"], {
          root,
          expect: 0,
        })
      ),
    );
  }
  const ui = await startUi(root);
  const browser = await Browser.launch();
  try {
    await browser.goto(ui.url.href);
    await browser.waitFor(
      `document.querySelectorAll('#containers tbody td.spark.mem svg').length >= ${n}`,
      30_000,
    );
    const firstPaintMs = await browser.eval<number>(
      "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1",
    );
    const sup = supervisorOf(root);
    const t0 = performance.now();
    const ui0 = cpuTicks(ui.child.pid), sup0 = sup ? cpuTicks(sup) : 0;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const dt = (performance.now() - t0) / 1000;
    const cpuPercent = ((cpuTicks(ui.child.pid) - ui0) / HZ / dt) * 100;
    const supervisorCpuPercent = sup ? ((cpuTicks(sup) - sup0) / HZ / dt) * 100 : 0;
    const heap = (await browser.metrics()).JSHeapUsedSize ?? 0;
    await browser.screenshot("bench-ui-50");
    return {
      containers: n,
      seconds: dt,
      cpuPercent,
      supervisorCpuPercent,
      uiRssMb: rssMb(ui.child.pid),
      supervisorRssMb: sup ? rssMb(sup) : 0,
      heapMb: heap / 1e6,
      firstPaintMs,
    } satisfies UiBench;
  } finally {
    await browser.close();
    await ui.stop();
    await tsbox(["rm", "-f", ...names], { root });
  }
}

/** Prints the figures with their bars. */
export function printUiBench(r: UiBench): string {
  const lines = [
    `tsbox ui, ${r.containers} running containers, one browser on the live table, ${
      r.seconds.toFixed(0)
    } s`,
    `  server CPU ${r.cpuPercent.toFixed(2)}% of one core (bar < 2%)   supervisor CPU ${
      r.supervisorCpuPercent.toFixed(2)
    }%`,
    `  RSS: ui server ${r.uiRssMb.toFixed(1)} MB, supervisor ${r.supervisorRssMb.toFixed(1)} MB`,
    `  page: JS heap ${r.heapMb.toFixed(2)} MB (bar < 5), first contentful paint ${
      r.firstPaintMs.toFixed(0)
    } ms (bar < 500)`,
  ];
  console.log(lines.join("\n"));
  return `ui: server CPU ${r.cpuPercent.toFixed(2)}% (< 2), RSS ${r.uiRssMb.toFixed(1)} MB ` +
    `(supervisor ${r.supervisorRssMb.toFixed(1)} MB), page heap ${r.heapMb.toFixed(2)} MB (< 5), ` +
    `FCP ${r.firstPaintMs.toFixed(0)} ms (< 500)`;
}

if (import.meta.main) {
  const { makeRoot, cleanupRoot } = await import("../tests/lib/harness.ts");
  const root = await makeRoot();
  try {
    printUiBench(await benchUi(root));
  } finally {
    await cleanupRoot(root);
  }
}
