// Docker's resource flags (`docker run --memory 64m --cpus 0.5 ...`) turned
// into the OCI spec's `linux.resources`, plus the device nodes of --device.
// Docker is the reference for the syntax and the defaults: sizes as
// go-units RAMInBytes (1k = 1024), --cpus as a CFS quota over a 100 ms
// period, memory+swap at twice the memory limit when swap is not given,
// moby's device allow-list (src/cgroups/default_devices.ts). Values the host
// must be asked about (CPU count, swap accounting, device numbers) come
// through a ResourceHost so the parsing stays a pure function to test.
// Limits that depend on the cgroup tree (cpusets, parent quotas) are checked
// by the cgroup driver's validate (src/container/cgroup.ts checkCgroup).
// OCI config-linux.md "Control groups"; Documentation/admin-guide/cgroup-v2.rst.

import {
  MOBY_DEFAULT_DEVICE_RULES,
  PRIVILEGED_DEVICE_RULES,
  RUNC_ALLOWED_DEVICE_RULES,
} from "../cgroups/default_devices.ts";
import { DEFAULT_CPU_PERIOD } from "../cgroups/resources.ts";
import { UsageError } from "../errors.ts";
import type { DeviceNode, DeviceRule, Resources, ThrottleDevice } from "./types.ts";
import type { ResourceFlags, RunOptions } from "./run_options.ts";

/** A device node on the host, as stat(2) shows it. */
export interface HostDevice {
  type: "c" | "b";
  major: number;
  minor: number;
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
}

/** What the parsing needs to know about the host. */
export interface ResourceHost {
  /** Online CPUs. */
  cpus: number;
  /** Whether memory+swap can be limited (v1 memory.memsw.*, v2 memory.swap.max). */
  swapLimit: boolean;
  /** The device node at `path` (symlinks followed); throws UsageError when it is none. */
  statDevice(path: string): HostDevice;
  /** --pids-limit when the flag is absent: tsbox.json's pidsLimit (src/config.ts); none by default. */
  defaultPidsLimit?: number | undefined;
}

/** What the flags of one container amount to. */
export interface ContainerResources {
  resources: Resources;
  /** Device nodes to create in the container's /dev (--device). */
  devices: DeviceNode[];
}

const UNITS: Record<string, number> = { "": 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * A size as Docker's RAMInBytes reads it: a number with an optional binary
 * unit (b, k, m, g, t, p; "kb", "KiB" and "k" alike), 1k = 1024.
 * Throws UsageError "invalid size: '1x'".
 *
 * @example ramInBytes("64m") // 67108864
 */
export function ramInBytes(size: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(size);
  if (!m) throw new UsageError(`invalid size: '${size}'`);
  const n = Number(m[1]);
  if (!Number.isFinite(n)) throw new UsageError(`invalid size: '${size}'`);
  const bytes = Math.floor(n * 1024 ** UNITS[(m[2] ?? "").toLowerCase()]!);
  // Beyond 2^53 a number is no longer exact (and beyond 2^63 no kernel takes it).
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`invalid size: '${size}': too large`);
  return bytes;
}

function flagSize(flag: string, value: string): number {
  try {
    return ramInBytes(value);
  } catch (e) {
    throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag`, {
      cause: e,
    });
  }
}

/**
 * Docker's --cpus as a CFS quota: N CPUs = N * 100000 µs per 100000 µs.
 * "0" means unset. Throws UsageError for what Docker refuses.
 */
export function parseCpus(value: string, hostCpus: number): { quota: number; period: number } {
  const range = () =>
    new UsageError(
      `range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`,
    );
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(value.trim())) {
    throw new UsageError(
      `invalid argument ${JSON.stringify(value)} for "--cpus" flag: failed to parse ${
        JSON.stringify(value)
      } as a rational number`,
    );
  }
  const cpus = Number(value);
  if (cpus < 0.01 || cpus > hostCpus) throw range();
  const nano = cpus * 1e9;
  if (Math.abs(nano - Math.round(nano)) > 1e-6) {
    throw new UsageError(
      `invalid argument ${JSON.stringify(value)} for "--cpus" flag: value is too precise`,
    );
  }
  return { quota: Math.round(cpus * DEFAULT_CPU_PERIOD), period: DEFAULT_CPU_PERIOD };
}

/**
 * One --device-read-bps / --device-write-iops ... value, "DEV:RATE", as a
 * throttle. bps rates are sizes ("1mb"), iops rates plain numbers.
 */
export function parseThrottle(
  flag: string,
  value: string,
  kind: "bps" | "iops",
  host: Pick<ResourceHost, "statDevice">,
): ThrottleDevice {
  const i = value.lastIndexOf(":");
  const path = i < 0 ? "" : value.slice(0, i);
  const rateText = i < 0 ? "" : value.slice(i + 1);
  if (!path.startsWith("/dev/")) {
    throw new UsageError(
      `invalid argument ${
        JSON.stringify(value)
      } for "${flag}" flag: bad format for device path: ${value}`,
    );
  }
  let rate: number;
  if (kind === "bps") {
    try {
      rate = ramInBytes(rateText);
    } catch {
      throw new UsageError(
        `invalid argument ${
          JSON.stringify(value)
        } for "${flag}" flag: invalid rate for device: ${value}. ` +
          "The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. " +
          "Unit is optional and can be kb, mb, or gb",
      );
    }
  } else {
    if (!/^\d+$/.test(rateText)) {
      throw new UsageError(
        `invalid argument ${
          JSON.stringify(value)
        } for "${flag}" flag: invalid rate for device: ${value}. ` +
          "The correct format is <device-path>:<number>. Number must be a positive integer",
      );
    }
    rate = Number(rateText);
  }
  const dev = host.statDevice(path);
  if (dev.type !== "b") throw new UsageError(`${flag} ${path}: not a block device`);
  return { major: dev.major, minor: dev.minor, rate };
}

/** --device-cgroup-rule "c 1:3 rwm" as a rule (moby's deviceCgroupRuleRegex). */
export function parseDeviceCgroupRule(rule: string): DeviceRule {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule);
  if (!m) throw new UsageError(`invalid device cgroup rule format: '${rule}'`);
  const num = (s: string) => (s === "*" ? null : Number(s));
  return {
    allow: true,
    type: m[1] as "a" | "b" | "c",
    major: num(m[2]!),
    minor: num(m[3]!),
    access: m[4]!,
  };
}

const isMode = (s: string) => /^[rwm]{1,3}$/.test(s) && new Set(s).size === s.length;

/**
 * --device HOST[:CONTAINER][:rwm] as a node in the container's /dev and the
 * rule that allows it (Docker's parseDevice).
 */
export function parseDevice(
  spec: string,
  host: Pick<ResourceHost, "statDevice">,
): { node: DeviceNode; rule: DeviceRule } {
  const parts = spec.split(":");
  if (parts.length > 3 || parts.some((p) => p === "")) {
    throw new UsageError(`invalid device specification: ${spec}`);
  }
  const src = parts[0]!;
  let dst = src, access = "rwm";
  if (parts.length === 3) {
    dst = parts[1]!;
    access = parts[2]!;
    if (!isMode(access)) throw new UsageError(`invalid device mode: ${access}`);
  } else if (parts.length === 2) {
    if (isMode(parts[1]!)) access = parts[1]!;
    else dst = parts[1]!;
  }
  if (!src.startsWith("/")) {
    throw new UsageError(`--device ${spec}: ${src} is not an absolute path`);
  }
  if (!dst.startsWith("/")) {
    throw new UsageError(`--device ${spec}: ${dst} is not an absolute path`);
  }
  if (!/^\/dev\/[^/]+$/.test(dst)) {
    throw new UsageError(
      `--device ${spec}: the container path must be directly under /dev (e.g. /dev/${
        dst.split("/").pop()
      })`,
    );
  }
  const d = host.statDevice(src);
  return {
    node: {
      type: d.type,
      path: dst,
      major: d.major,
      minor: d.minor,
      fileMode: d.mode,
      uid: d.uid,
      gid: d.gid,
    },
    rule: { allow: true, type: d.type, major: d.major, minor: d.minor, access },
  };
}

/**
 * The cgroup limits of Docker's resource flags (everything but devices):
 * what `run` and `group create` share. Throws UsageError on bad syntax or a
 * combination Docker refuses.
 *
 * @example resourcesFromFlags({ memory: "64m", ... }, host).memory // { limit: 67108864, swap: 134217728 }
 */
export function resourcesFromFlags(f: ResourceFlags, host: ResourceHost): Resources {
  const r: Resources = {};
  const cpu: NonNullable<Resources["cpu"]> = {};
  if (f.cpus !== undefined && Number(f.cpus) !== 0) {
    if (f.cpuPeriod) {
      throw new UsageError("conflicting options: --cpus and --cpu-period cannot both be set");
    }
    if (f.cpuQuota) {
      throw new UsageError("conflicting options: --cpus and --cpu-quota cannot both be set");
    }
    Object.assign(cpu, parseCpus(f.cpus, host.cpus));
  }
  if (f.cpuShares) cpu.shares = f.cpuShares;
  if (f.cpuPeriod) cpu.period = f.cpuPeriod;
  if (f.cpuQuota) cpu.quota = f.cpuQuota;
  if (f.cpusetCpus) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems) cpu.mems = f.cpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;

  const memory: NonNullable<Resources["memory"]> = {};
  const limit = f.memory !== undefined ? flagSize("--memory", f.memory) : 0;
  if (limit) memory.limit = limit;
  if (f.memorySwap !== undefined && f.memorySwap !== "0") {
    const swap = f.memorySwap === "-1" ? -1 : flagSize("--memory-swap", f.memorySwap);
    // Without swap accounting Docker warns and limits memory alone.
    if (host.swapLimit || swap === -1) memory.swap = swap;
  } else if (limit > 0 && host.swapLimit) {
    memory.swap = limit * 2; // Docker's default: as much swap as memory
  }
  if (f.memoryReservation !== undefined) {
    const res = flagSize("--memory-reservation", f.memoryReservation);
    if (res) memory.reservation = res;
  }
  if (f.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) r.memory = memory;

  if (f.pidsLimit !== undefined && f.pidsLimit > 0) r.pids = { limit: f.pidsLimit };

  const blockIO: NonNullable<Resources["blockIO"]> = {};
  if (f.blkioWeight) blockIO.weight = f.blkioWeight;
  const throttles = [
    ["--device-read-bps", f.deviceReadBps, "bps", "throttleReadBpsDevice"],
    ["--device-write-bps", f.deviceWriteBps, "bps", "throttleWriteBpsDevice"],
    ["--device-read-iops", f.deviceReadIops, "iops", "throttleReadIOPSDevice"],
    ["--device-write-iops", f.deviceWriteIops, "iops", "throttleWriteIOPSDevice"],
  ] as const;
  for (const [flag, values, kind, key] of throttles) {
    if (values.length) blockIO[key] = values.map((v) => parseThrottle(flag, v, kind, host));
  }
  if (Object.keys(blockIO).length) r.blockIO = blockIO;
  if (f.netClsClassid) r.network = { classID: f.netClsClassid };
  return r;
}

/**
 * `linux.resources` and the extra device nodes of a container: the limits,
 * then the device list Docker gives (moby's rules, --device, --device-cgroup-rule,
 * runc's rules; allow-all with --privileged).
 */
export function containerResources(opts: RunOptions, host: ResourceHost): ContainerResources {
  const pidsLimit = opts.resources.pidsLimit ?? host.defaultPidsLimit;
  const resources = resourcesFromFlags(
    { ...opts.resources, ...(pidsLimit !== undefined ? { pidsLimit } : {}) },
    host,
  );
  const devices = opts.devices.map((d) => parseDevice(d, host));
  const rules = opts.deviceCgroupRules.map(parseDeviceCgroupRule);
  const seen = new Set<string>();
  for (const d of devices) {
    if (seen.has(d.node.path)) throw new UsageError(`duplicate device: ${d.node.path}`);
    seen.add(d.node.path);
  }
  resources.devices = opts.privileged ? [...PRIVILEGED_DEVICE_RULES] : [
    ...MOBY_DEFAULT_DEVICE_RULES,
    ...devices.map((d) => d.rule),
    ...rules,
    ...RUNC_ALLOWED_DEVICE_RULES,
  ];
  return { resources, devices: devices.map((d) => d.node) };
}

/** Host facts without asking the cgroup layer (swap limits unknown: not set by default). */
export function plainResourceHost(): ResourceHost {
  return { cpus: navigator.hardwareConcurrency || 1, swapLimit: false, statDevice: statHostDevice };
}

/** Major and minor of a dev_t (the glibc encoding, include/linux/kdev_t.h's new_encode_dev). */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

/** statDevice for the real host (Deno.statSync follows symlinks, as Docker does). */
export function statHostDevice(path: string): HostDevice {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    throw new UsageError(
      `error gathering device information while adding custom device ${JSON.stringify(path)}`,
      {
        cause: e,
      },
    );
  }
  if (st.isDirectory) {
    throw new UsageError(
      `device ${JSON.stringify(path)} is a directory: give device nodes one by one`,
    );
  }
  if (!st.isCharDevice && !st.isBlockDevice) {
    throw new UsageError(
      `error gathering device information while adding custom device ${
        JSON.stringify(path)
      }: not a device node`,
    );
  }
  return {
    type: st.isBlockDevice ? "b" : "c",
    ...devNumbers(st.rdev ?? 0),
    mode: (st.mode ?? 0o600) & 0o7777,
    uid: st.uid ?? 0,
    gid: st.gid ?? 0,
  };
}
