// tsbox-runc events: the container's cgroup figures as the JSON events that
// go-runc (containerd) decodes: {"type":"stats","id":ID,"data":Stats}. With
// --stats one event, else one every --interval until the container stops.

import type { CgroupStats } from "../../cgroups/driver.ts";
import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { containerStats } from "../../container/oci/ops.ts";
import { checkId } from "../../container/oci/store.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "stats", type: "bool", help: "print one stats event and exit" },
  { name: "interval", type: "string", value: "DURATION", help: "between events (default 5s)" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime events [--stats] [--interval 5s] ID", "Print container events.", [
  "tsbox-runc events --stats box",
], FLAGS);

/** go-runc's Stats for cgroup figures. */
export function goRuncStats(s: CgroupStats): Record<string, unknown> {
  return {
    cpu: {
      usage: {
        total: s.cpu.usageNs,
        percpu: s.cpu.perCpuNs ?? [],
        kernel: s.cpu.systemNs ?? 0,
        user: s.cpu.userNs ?? 0,
      },
      throttling: {
        periods: s.cpu.throttled?.periods ?? 0,
        throttledPeriods: s.cpu.throttled?.throttledPeriods ?? 0,
        throttledTime: s.cpu.throttled?.throttledNs ?? 0,
      },
    },
    memory: {
      cache: s.memory.cache ?? 0,
      usage: {
        limit: s.memory.limit ?? 0,
        usage: s.memory.usage,
        max: s.memory.maxUsage ?? 0,
        failcnt: 0,
      },
      raw: s.memory.inactiveFile !== undefined ? { inactive_file: s.memory.inactiveFile } : {},
    },
    pids: { current: s.pids.current, limit: s.pids.limit ?? 0 },
    blkio: {
      ioServiceBytesRecursive: [
        { major: 0, minor: 0, op: "Read", value: s.blkio.readBytes },
        { major: 0, minor: 0, op: "Write", value: s.blkio.writeBytes },
      ],
      ioServicedRecursive: [
        { major: 0, minor: 0, op: "Read", value: s.blkio.readOps },
        { major: 0, minor: 0, op: "Write", value: s.blkio.writeOps },
      ],
    },
    hugetlb: {},
  };
}

/** "5s", "500ms", "1m" in milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s);
  if (!m) throw new UsageError(`invalid duration ${JSON.stringify(s)}`);
  return Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000);
}

/** Entry point of `tsbox-runc events`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("events", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`"events" requires exactly 1 argument`);
  const id = checkId(positionals[0]);
  const interval = parseDuration(str(flags, "interval") ?? "5s");
  for (;;) {
    const s = containerStats(ociContext(g), id);
    if (!s) {
      if (bool(flags, "stats")) throw new UsageError("container not running");
      return 0;
    }
    console.log(JSON.stringify({ type: "stats", id, data: goRuncStats(s) }));
    if (bool(flags, "stats")) return 0;
    await new Promise((r) => setTimeout(r, interval));
  }
}
