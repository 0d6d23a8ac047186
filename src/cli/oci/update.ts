// tsbox-runc update: new cgroup limits for a container, from --resources
// (a linux.resources JSON, "-" for stdin: what containerd's shim sends) or
// from runc's flag forms.

import { UsageError } from "../../errors.ts";
import type { Resources } from "../../spec/types.ts";
import { bool, type FlagDef, formatHelp, int, parseFlags, str } from "../flags.ts";
import { updateContainer } from "../../container/oci/ops.ts";
import { checkId } from "../../container/oci/store.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "resources", short: "r", type: "string", value: "FILE|-", help: "linux.resources JSON" },
  { name: "memory", type: "string", value: "BYTES", help: "memory limit" },
  { name: "memory-reservation", type: "string", value: "BYTES", help: "memory soft limit" },
  { name: "memory-swap", type: "string", value: "BYTES", help: "memory + swap limit" },
  { name: "cpu-shares", type: "int", value: "N", help: "CPU shares" },
  { name: "cpu-quota", type: "int", value: "US", help: "CFS quota" },
  { name: "cpu-period", type: "int", value: "US", help: "CFS period" },
  { name: "cpuset-cpus", type: "string", value: "LIST", help: "CPUs" },
  { name: "cpuset-mems", type: "string", value: "LIST", help: "memory nodes" },
  { name: "pids-limit", type: "int", value: "N", help: "maximum number of processes" },
  { name: "blkio-weight", type: "int", value: "N", help: "block I/O weight" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime update [OPTIONS] ID", "Change a container's limits.", [
  "tsbox-runc update --memory 64m box",
  'echo \'{"pids":{"limit":10}}\' | tsbox-runc update --resources - box',
], FLAGS);

/** "64m", "1g", "1024" in bytes (-1 stays -1). */
export function parseBytes(s: string): number {
  const m = /^(-1|\d+)([kmgt]?)b?$/i.exec(s.trim());
  if (!m) throw new UsageError(`invalid size ${JSON.stringify(s)}`);
  const mul = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  return m[1] === "-1" ? -1 : Number(m[1]) * mul;
}

async function readResources(src: string): Promise<Resources> {
  const text = src === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(src);
  try {
    return JSON.parse(text) as Resources;
  } catch (e) {
    throw new UsageError("parse --resources", { cause: e });
  }
}

/** Entry point of `tsbox-runc update`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("update", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`"update" requires exactly 1 argument`);
  const id = checkId(positionals[0]);
  const src = str(flags, "resources");
  const r: Resources = src ? await readResources(src) : {};
  const mem = { ...r.memory };
  const memory = str(flags, "memory"), reservation = str(flags, "memory-reservation");
  const swap = str(flags, "memory-swap");
  if (memory) mem.limit = parseBytes(memory);
  if (reservation) mem.reservation = parseBytes(reservation);
  if (swap) mem.swap = parseBytes(swap);
  if (Object.keys(mem).length) r.memory = mem;
  const cpu = { ...r.cpu };
  const shares = int(flags, "cpu-shares"), quota = int(flags, "cpu-quota");
  const period = int(flags, "cpu-period");
  if (shares !== undefined) cpu.shares = shares;
  if (quota !== undefined) cpu.quota = quota;
  if (period !== undefined) cpu.period = period;
  const cpus = str(flags, "cpuset-cpus"), mems = str(flags, "cpuset-mems");
  if (cpus) cpu.cpus = cpus;
  if (mems) cpu.mems = mems;
  if (Object.keys(cpu).length) r.cpu = cpu;
  const pidsLimit = int(flags, "pids-limit");
  if (pidsLimit !== undefined) r.pids = { limit: pidsLimit };
  const weight = int(flags, "blkio-weight");
  if (weight !== undefined) r.blockIO = { ...r.blockIO, weight };
  await updateContainer(ociContext(g), id, r);
  return 0;
}
