// tsbox stats: live CPU, memory, network, block I/O and process figures of
// containers, redrawn every second until Ctrl-C (or once with --no-stream).

import { UsageError } from "../../errors.ts";
import type { ContainerRecord } from "../../state/containers.ts";
import type { StatsSample } from "../../container/stats.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { humanBinary, humanSize, table } from "../human.ts";

const FLAGS: FlagDef[] = [
  {
    name: "all",
    short: "a",
    type: "bool",
    help: "Show all containers (default shows just running)",
  },
  { name: "no-stream", type: "bool", help: "Print one table and exit" },
  { name: "no-trunc", type: "bool", help: "Do not truncate output" },
  {
    name: "format",
    type: "string",
    value: "FORMAT",
    help: "table (default) or json (one object per line)",
  },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "stats [OPTIONS] [CONTAINER...]",
  "Display a live stream of container(s) resource usage statistics.",
  ["tsbox stats", "tsbox stats --no-stream web", "tsbox stats --no-stream --format json"],
  FLAGS,
);

const HEADERS = [
  "CONTAINER ID",
  "NAME",
  "CPU %",
  "MEM USAGE / LIMIT",
  "MEM %",
  "NET I/O",
  "BLOCK I/O",
  "PIDS",
];

/** One row of figures, as Docker prints them. */
export function statsCells(
  cur: StatsSample,
  fmt: { cpuPercent: number; memPercent: number; fullId: boolean },
): Record<string, string> {
  const pct = (n: number) => `${n.toFixed(2)}%`;
  return {
    ID: fmt.fullId ? cur.id : cur.id.slice(0, 12),
    Name: cur.name,
    CPUPerc: pct(fmt.cpuPercent),
    MemUsage: `${humanBinary(cur.memUsage)} / ${humanBinary(cur.memLimit)}`,
    MemPerc: pct(fmt.memPercent),
    NetIO: `${humanSize(cur.netRx)} / ${humanSize(cur.netTx)}`,
    BlockIO: `${humanSize(cur.blkRead)} / ${humanSize(cur.blkWrite)}`,
    PIDs: String(cur.pids),
  };
}

/** Entry point of `tsbox stats`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("stats", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const format = str(flags, "format") ?? "table";
  const json = format === "json" || format === "{{json .}}";
  if (!json && format !== "table") {
    throw new UsageError(`invalid --format ${JSON.stringify(format)}: use table or json`);
  }
  const { findContainer, getContainer, listContainers } = await import(
    "../../state/containers.ts"
  );
  const { reconcile } = await import("../../container/status.ts");
  const { cpuPercent, memPercent, StatsSampler } = await import("../../container/stats.ts");
  const named = positionals.map((ref) => findContainer(ref).id);
  const all = bool(flags, "all"), fullId = bool(flags, "no-trunc");
  const pick = (): ContainerRecord[] => {
    if (named.length) {
      return named.map((id) => getContainer(id)).filter((c): c is ContainerRecord => !!c)
        .map(reconcile);
    }
    return listContainers().map(reconcile).filter((c) =>
      all || c.status === "running" || c.status === "paused"
    );
  };
  const render = (prev: Map<string, StatsSample>, cur: StatsSample[]) => {
    const rows = cur.map((s) =>
      statsCells(s, {
        cpuPercent: cpuPercent(prev.get(s.id), s),
        memPercent: memPercent(s),
        fullId,
      })
    );
    if (json) {
      // Beyond Docker's fields: the raw CPU figures (cpuacct per CPU on v1, cpu.stat on v2).
      return rows.map((r, i) => JSON.stringify({ Container: r.ID, ...r, CPU: cur[i]!.cpu }))
        .join("\n");
    }
    return table(
      HEADERS,
      rows.map((
        r,
      ) => [r.ID!, r.Name!, r.CPUPerc!, r.MemUsage!, r.MemPerc!, r.NetIO!, r.BlockIO!, r.PIDs!]),
    );
  };
  const sampler = new StatsSampler();
  const sampleAll = () => sampler.sample(pick());
  const sleep = (ms: number, stop?: Promise<void>) =>
    Promise.race([new Promise<void>((r) => setTimeout(r, ms)), ...(stop ? [stop] : [])]);

  let prev = new Map(sampleAll().map((s) => [s.id, s]));
  if (bool(flags, "no-stream")) {
    await sleep(500);
    const out = render(prev, sampleAll());
    if (out) console.log(out);
    return 0;
  }
  let stopped = false;
  let wake: () => void = () => {};
  const stop = new Promise<void>((r) => (wake = r));
  const onInt = () => {
    stopped = true;
    wake();
  };
  Deno.addSignalListener("SIGINT", onInt);
  const tty = Deno.stdout.isTerminal();
  try {
    await sleep(500, stop);
    while (!stopped) {
      const cur = sampleAll();
      const out = render(prev, cur);
      // Docker clears the screen and homes the cursor before each table.
      const text = `${tty ? "\x1b[2J\x1b[H" : ""}${out}\n${tty ? "" : "\n"}`;
      await Deno.stdout.write(new TextEncoder().encode(text));
      prev = new Map(cur.map((s) => [s.id, s]));
      await sleep(1000, stop);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
  }
  return 0;
}
