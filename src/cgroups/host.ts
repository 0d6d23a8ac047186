// The host's online CPUs and memory nodes, from sysfs
// (Documentation/ABI/stable/sysfs-devices-system-cpu, .../sysfs-devices-node):
// /sys/devices/system/cpu/online and /sys/devices/system/node/online.
// Validation compares cpusets and CPU quotas against them.

import { parseCpuList } from "./cpulist.ts";
import { tryReadValue } from "./fs.ts";

/** Online CPUs and memory nodes. */
export interface HostInfo {
  cpus: number[];
  mems: number[];
}

/**
 * Reads the online CPUs and memory nodes. Without NUMA support the node list
 * is missing and [0] is used; without sysfs, navigator.hardwareConcurrency.
 */
export function readHostInfo(): HostInfo {
  const cpuText = tryReadValue("/sys/devices/system/cpu/online");
  const nodeText = tryReadValue("/sys/devices/system/node/online");
  const cpus = cpuText
    ? parseCpuList(cpuText)
    : [...Array(navigator.hardwareConcurrency || 1).keys()];
  return { cpus, mems: nodeText ? parseCpuList(nodeText) : [0] };
}
