// tsbox group: cgroup parents for containers (`run --cgroup-parent NAME`),
// with limits that bind every container under them. Groups nest ("a/b") and
// live under tsbox/ in every cgroup hierarchy.

import { formatError, UsageError } from "../../errors.ts";
import { defaultRunOptions, type ResourceFlags } from "../../spec/run_options.ts";
import {
  bool,
  type FlagDef,
  type FlagValues,
  formatHelp,
  int,
  list,
  parseFlags,
  str,
} from "../flags.ts";
import { ago, humanBinary, table } from "../human.ts";
import { RUN_FLAGS } from "./run.ts";

/** The limit flags of `run` that a group takes too. */
const LIMIT_FLAGS = [
  "cpus",
  "cpu-shares",
  "cpu-period",
  "cpu-quota",
  "cpuset-cpus",
  "cpuset-mems",
  "memory",
  "memory-swap",
  "memory-reservation",
  "pids-limit",
  "blkio-weight",
  "device-read-bps",
  "device-write-bps",
  "device-read-iops",
  "device-write-iops",
];
const help: FlagDef = { name: "help", type: "bool", help: "Print usage" };

interface Sub {
  usage: string;
  description: string;
  examples: string[];
  flags: FlagDef[];
  run(flags: FlagValues, args: string[]): Promise<number>;
}

/** The ResourceFlags of parsed limit flags. */
function limitFlags(f: FlagValues): ResourceFlags {
  const r = defaultRunOptions().resources;
  const set = <K extends keyof ResourceFlags>(k: K, v: ResourceFlags[K] | undefined) => {
    if (v !== undefined) r[k] = v;
  };
  set("cpus", str(f, "cpus"));
  set("cpuShares", int(f, "cpu-shares"));
  set("cpuPeriod", int(f, "cpu-period"));
  set("cpuQuota", int(f, "cpu-quota"));
  set("cpusetCpus", str(f, "cpuset-cpus"));
  set("cpusetMems", str(f, "cpuset-mems"));
  set("memory", str(f, "memory"));
  set("memorySwap", str(f, "memory-swap"));
  set("memoryReservation", str(f, "memory-reservation"));
  set("pidsLimit", int(f, "pids-limit"));
  set("blkioWeight", int(f, "blkio-weight"));
  r.deviceReadBps = list(f, "device-read-bps");
  r.deviceWriteBps = list(f, "device-write-bps");
  r.deviceReadIops = list(f, "device-read-iops");
  r.deviceWriteIops = list(f, "device-write-iops");
  return r;
}

const cgroup = () => import("../../container/groups.ts");

const show = (n: number | null, fmt: (n: number) => string = String) => n === null ? "-" : fmt(n);

const SUBS: Record<string, Sub> = {
  create: {
    usage: "group create [OPTIONS] NAME",
    description: "Create a group (a cgroup parent) with limits for the containers in it.",
    examples: [
      "tsbox group create web --memory 512m --cpus 1.5",
      "tsbox group create web/api --pids-limit 200",
      "tsbox run --rm --cgroup-parent web/api busybox true",
    ],
    flags: [...RUN_FLAGS.filter((d) => LIMIT_FLAGS.includes(d.name)), help],
    async run(flags, args) {
      if (args.length !== 1) {
        throw new UsageError(`"tsbox group create" requires exactly 1 argument`);
      }
      const { createGroup } = await cgroup();
      const { resourceHost } = await import("../../container/cgroup.ts");
      const { resourcesFromFlags } = await import("../../spec/resources.ts");
      const g = createGroup(args[0]!, resourcesFromFlags(limitFlags(flags), resourceHost()));
      console.log(g.name);
      return 0;
    },
  },
  ls: {
    usage: "group ls",
    description: "List groups, with the limits they set and those in effect.",
    examples: ["tsbox group ls"],
    flags: [{ name: "quiet", short: "q", type: "bool", help: "Only display names" }, help],
    async run(flags) {
      const { groupInfo, listGroups } = await cgroup();
      const groups = listGroups().map((g) => groupInfo(g.name));
      if (bool(flags, "quiet")) {
        if (groups.length) console.log(groups.map((g) => g.name).join("\n"));
        return 0;
      }
      console.log(table(
        ["NAME", "MEMORY", "CPUS", "PIDS", "CPUSET", "CONTAINERS", "CREATED"],
        groups.map((g) => [
          g.name,
          show(g.effective.memory, humanBinary),
          show(g.effective.cpus, (n) => n.toFixed(2)),
          show(g.effective.pids),
          g.requested.cpusetCpus ?? "-",
          String(g.containers.length),
          ago(g.created),
        ]),
      ));
      return 0;
    },
  },
  inspect: {
    usage: "group inspect NAME [NAME...]",
    description:
      "Show groups as JSON: path, directories, requested and effective limits (the tightest along the chain).",
    examples: ["tsbox group inspect web/api"],
    flags: [help],
    async run(_flags, args) {
      if (!args.length) throw new UsageError(`"tsbox group inspect" requires at least 1 argument`);
      const { groupInfo } = await cgroup();
      console.log(JSON.stringify(args.map(groupInfo), null, 4));
      return 0;
    },
  },
  rm: {
    usage: "group rm NAME [NAME...]",
    description: "Remove groups that have no child groups and no containers.",
    examples: ["tsbox group rm web/api web"],
    flags: [help],
    async run(_flags, args) {
      if (!args.length) throw new UsageError(`"tsbox group rm" requires at least 1 argument`);
      const { removeGroup } = await cgroup();
      let failed = 0;
      for (const name of args) {
        try {
          await removeGroup(name);
          console.log(name);
        } catch (e) {
          console.error(`tsbox: ${formatError(e)}`);
          failed++;
        }
      }
      return failed ? 1 : 0;
    },
  },
};
const ALIASES: Record<string, string> = { list: "ls", remove: "rm" };

const HELP = [
  "Usage:  tsbox group COMMAND",
  "",
  "Manage groups: cgroup parents whose limits bind the containers in them.",
  "",
  "Commands:",
  ...Object.entries(SUBS).map(([k, v]) => `  ${k.padEnd(10)}${v.description.split(":")[0]}`),
  "",
  "Run 'tsbox group COMMAND --help' for more information on a command.",
].join("\n");

/** Entry point of `tsbox group`. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h") {
    console.log(HELP);
    return name === undefined ? 1 : 0;
  }
  const sub = SUBS[ALIASES[name] ?? name];
  if (!sub) throw new UsageError(`unknown command "group ${name}"\nSee 'tsbox group --help'.`);
  const { flags, positionals } = parseFlags(`group ${name}`, rest, sub.flags, true);
  if (bool(flags, "help")) {
    console.log(formatHelp(sub.usage, sub.description, sub.examples, sub.flags));
    return 0;
  }
  return await sub.run(flags, positionals);
}
