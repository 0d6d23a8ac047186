// Unit tests of Docker's resource flags -> OCI linux.resources
// (src/container/resources.ts), the stats arithmetic (src/container/stats.ts)
// and group names and paths (src/container/cgroup.ts). No root needed.

import assert from "node:assert/strict";
import {
  MOBY_DEFAULT_DEVICE_RULES,
  PRIVILEGED_DEVICE_RULES,
  RUNC_ALLOWED_DEVICE_RULES,
} from "../src/cgroups/default_devices.ts";
import { checkGroupName, containerCgroupPath } from "../src/container/cgroup.ts";
import { defaultRunOptions, type ResourceFlags } from "../src/spec/run_options.ts";
import {
  containerResources,
  devNumbers,
  type HostDevice,
  parseCpus,
  parseDevice,
  parseDeviceCgroupRule,
  parseThrottle,
  ramInBytes,
  type ResourceHost,
  resourcesFromFlags,
} from "../src/spec/resources.ts";
import {
  cpuPercent,
  hostCpuNs,
  memPercent,
  netBytes,
  type StatsSample,
} from "../src/container/stats.ts";
import { UsageError } from "../src/errors.ts";
import { statsCells } from "../src/cli/docker/stats.ts";

const MiB = 1024 * 1024;
const DEVICES: Record<string, HostDevice> = {
  "/dev/loop3": { type: "b", major: 7, minor: 3, mode: 0o660, uid: 0, gid: 6 },
  "/dev/ttyUSB0": { type: "c", major: 188, minor: 0, mode: 0o660, uid: 0, gid: 20 },
  "/dev/null": { type: "c", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 },
};
const host: ResourceHost = {
  cpus: 4,
  swapLimit: true,
  statDevice(path) {
    const d = DEVICES[path];
    if (!d) throw new UsageError(`no device ${path}`);
    return d;
  },
};
const flags = (f: Partial<ResourceFlags>): ResourceFlags => ({
  ...defaultRunOptions().resources,
  ...f,
});

Deno.test("ramInBytes: binary units like Docker's RAMInBytes", () => {
  assert.equal(ramInBytes("1k"), 1024);
  assert.equal(ramInBytes("64m"), 64 * MiB);
  assert.equal(ramInBytes("64MB"), 64 * MiB);
  assert.equal(ramInBytes("64MiB"), 64 * MiB);
  assert.equal(ramInBytes("1.5g"), 1.5 * 1024 * MiB);
  assert.equal(ramInBytes("100"), 100);
  assert.equal(ramInBytes("2 k"), 2048);
  for (const bad of ["", "1x", "-1m", "m", "1mm", "1.m"]) {
    assert.throws(() => ramInBytes(bad), { message: `invalid size: '${bad}'` });
  }
});

Deno.test("parseCpus: quota over a 100 ms period, Docker's range message", () => {
  assert.deepEqual(parseCpus("0.5", 4), { quota: 50000, period: 100000 });
  assert.deepEqual(parseCpus("2", 4), { quota: 200000, period: 100000 });
  const range = /range of CPUs is from 0\.01 to 4\.00, as there are only 4 CPUs available/;
  assert.throws(() => parseCpus("-1", 4), range);
  assert.throws(() => parseCpus("5", 4), range);
  assert.throws(() => parseCpus("0.001", 4), range);
  assert.throws(() => parseCpus("abc", 4), /failed to parse "abc" as a rational number/);
  assert.throws(() => parseCpus("0.0000000001", 4), range);
});

Deno.test("resourcesFromFlags: memory, swap default, reservation, OOM killer", () => {
  assert.deepEqual(resourcesFromFlags(flags({ memory: "64m" }), host).memory, {
    limit: 64 * MiB,
    swap: 128 * MiB,
  });
  assert.deepEqual(
    resourcesFromFlags(flags({ memory: "64m" }), { ...host, swapLimit: false }).memory,
    { limit: 64 * MiB },
  );
  assert.deepEqual(resourcesFromFlags(flags({ memory: "64m", memorySwap: "-1" }), host).memory, {
    limit: 64 * MiB,
    swap: -1,
  });
  assert.deepEqual(
    resourcesFromFlags(
      flags({ memory: "64m", memorySwap: "64m", memoryReservation: "32m", oomKillDisable: true }),
      host,
    ).memory,
    { limit: 64 * MiB, swap: 64 * MiB, reservation: 32 * MiB, disableOOMKiller: true },
  );
  assert.throws(
    () => resourcesFromFlags(flags({ memory: "lots" }), host),
    (e: Error) => e instanceof UsageError && /"--memory" flag/.test(e.message),
  );
  assert.deepEqual(resourcesFromFlags(flags({}), host), {});
});

Deno.test("resourcesFromFlags: cpu, cpuset, pids, blkio, net_cls", () => {
  const r = resourcesFromFlags(
    flags({
      cpus: "1.5",
      cpuShares: 512,
      cpusetCpus: "0-1",
      cpusetMems: "0",
      pidsLimit: 100,
      blkioWeight: 300,
      deviceReadBps: ["/dev/loop3:1mb"],
      deviceWriteIops: ["/dev/loop3:100"],
      netClsClassid: 0x100001,
    }),
    host,
  );
  assert.deepEqual(r.cpu, { quota: 150000, period: 100000, shares: 512, cpus: "0-1", mems: "0" });
  assert.deepEqual(r.pids, { limit: 100 });
  assert.deepEqual(r.blockIO, {
    weight: 300,
    throttleReadBpsDevice: [{ major: 7, minor: 3, rate: MiB }],
    throttleWriteIOPSDevice: [{ major: 7, minor: 3, rate: 100 }],
  });
  assert.deepEqual(r.network, { classID: 0x100001 });
  assert.deepEqual(resourcesFromFlags(flags({ cpuQuota: 50000, cpuPeriod: 200000 }), host).cpu, {
    quota: 50000,
    period: 200000,
  });
  assert.equal(resourcesFromFlags(flags({ pidsLimit: -1 }), host).pids, undefined);
  assert.throws(
    () => resourcesFromFlags(flags({ cpus: "1", cpuQuota: 50000 }), host),
    /conflicting options: --cpus and --cpu-quota/,
  );
  assert.throws(
    () => resourcesFromFlags(flags({ cpus: "1", cpuPeriod: 50000 }), host),
    /conflicting options: --cpus and --cpu-period/,
  );
});

Deno.test("parseThrottle: DEV:RATE with Docker's messages", () => {
  assert.deepEqual(parseThrottle("--device-write-bps", "/dev/loop3:10k", "bps", host), {
    major: 7,
    minor: 3,
    rate: 10240,
  });
  assert.throws(
    () => parseThrottle("--device-write-bps", "loop3:1mb", "bps", host),
    /bad format for device path/,
  );
  assert.throws(
    () => parseThrottle("--device-write-bps", "/dev/loop3:fast", "bps", host),
    /invalid rate for device/,
  );
  assert.throws(
    () => parseThrottle("--device-read-iops", "/dev/loop3:1k", "iops", host),
    /Number must be a positive integer/,
  );
  assert.throws(
    () => parseThrottle("--device-read-iops", "/dev/null:10", "iops", host),
    /not a block device/,
  );
});

Deno.test("parseDevice: HOST[:CONTAINER][:rwm] as a node and a rule", () => {
  assert.deepEqual(parseDevice("/dev/loop3", host), {
    node: { type: "b", path: "/dev/loop3", major: 7, minor: 3, fileMode: 0o660, uid: 0, gid: 6 },
    rule: { allow: true, type: "b", major: 7, minor: 3, access: "rwm" },
  });
  assert.equal(parseDevice("/dev/ttyUSB0:/dev/modem", host).node.path, "/dev/modem");
  assert.equal(parseDevice("/dev/ttyUSB0:r", host).rule.access, "r");
  assert.equal(parseDevice("/dev/ttyUSB0:r", host).node.path, "/dev/ttyUSB0");
  assert.deepEqual(parseDevice("/dev/ttyUSB0:/dev/modem:rw", host).rule.access, "rw");
  assert.throws(() => parseDevice("/dev/ttyUSB0:/dev/x:rwx", host), /invalid device mode: rwx/);
  assert.throws(() => parseDevice("/dev/a:/dev/b:r:w", host), /invalid device specification/);
  assert.throws(() => parseDevice("/dev/ttyUSB0:modem", host), /not an absolute path/);
  assert.throws(() => parseDevice("/dev/ttyUSB0:/dev/usb/modem", host), /directly under \/dev/);
  assert.throws(() => parseDevice("/dev/missing", host), /no device/);
});

Deno.test("parseDeviceCgroupRule: moby's rule syntax", () => {
  assert.deepEqual(parseDeviceCgroupRule("c 1:3 rwm"), {
    allow: true,
    type: "c",
    major: 1,
    minor: 3,
    access: "rwm",
  });
  assert.deepEqual(parseDeviceCgroupRule("b 7:* r"), {
    allow: true,
    type: "b",
    major: 7,
    minor: null,
    access: "r",
  });
  for (const bad of ["c 1:3", "x 1:3 r", "c 1 r", "c 1:3 rwx", "c  1:3 r"]) {
    assert.throws(() => parseDeviceCgroupRule(bad), /invalid device cgroup rule format/);
  }
});

Deno.test("containerResources: moby's rules, --device, rules, runc's rules; privileged allows all", () => {
  const o = defaultRunOptions();
  o.devices = ["/dev/loop3"];
  o.deviceCgroupRules = ["c 188:* rw"];
  const { resources, devices } = containerResources(o, host);
  assert.deepEqual(resources.devices, [
    ...MOBY_DEFAULT_DEVICE_RULES,
    { allow: true, type: "b", major: 7, minor: 3, access: "rwm" },
    { allow: true, type: "c", major: 188, minor: null, access: "rw" },
    ...RUNC_ALLOWED_DEVICE_RULES,
  ]);
  assert.deepEqual(devices.map((d) => d.path), ["/dev/loop3"]);
  o.privileged = true;
  assert.deepEqual(containerResources(o, host).resources.devices, [...PRIVILEGED_DEVICE_RULES]);
  o.devices = ["/dev/loop3", "/dev/loop3"];
  assert.throws(() => containerResources(o, host), /duplicate device/);
});

Deno.test("containerResources: tsbox.json's pidsLimit applies when --pids-limit is absent", () => {
  const o = defaultRunOptions();
  assert.equal(containerResources(o, host).resources.pids, undefined, "off by default");
  const withDefault: ResourceHost = { ...host, defaultPidsLimit: 2048 };
  assert.deepEqual(containerResources(o, withDefault).resources.pids, { limit: 2048 });
  o.resources = { ...o.resources, pidsLimit: 100 };
  assert.deepEqual(containerResources(o, withDefault).resources.pids, { limit: 100 });
  o.resources = { ...o.resources, pidsLimit: -1 };
  assert.equal(containerResources(o, withDefault).resources.pids, undefined, "-1: unlimited");
});

Deno.test("devNumbers: dev_t encoding", () => {
  assert.deepEqual(devNumbers(0x0703), { major: 7, minor: 3 });
  assert.deepEqual(devNumbers(0x10300), { major: 259, minor: 0 }); // nvme: 259:0
  assert.deepEqual(devNumbers(0x10303 | (0x123 << 20)), { major: 259, minor: 0x12303 });
});

Deno.test("checkGroupName and containerCgroupPath", () => {
  assert.equal(checkGroupName("web"), "web");
  assert.equal(checkGroupName("/web/api/"), "web/api");
  for (const bad of ["", "..", "a/../b", "a//b", "-x", "a b", "0".repeat(64)]) {
    assert.throws(() => checkGroupName(bad), UsageError, bad);
  }
  assert.equal(containerCgroupPath("abc"), "tsbox/abc");
  assert.equal(containerCgroupPath("abc", "web/api"), "tsbox/web/api/abc");
});

const sample = (s: Partial<StatsSample>): StatsSample => ({
  id: "f".repeat(64),
  name: "web",
  running: true,
  cpuNs: 0,
  cpu: { usageNs: 0 },
  systemNs: 0,
  onlineCpus: 2,
  memUsage: 0,
  memLimit: 0,
  pids: 0,
  blkRead: 0,
  blkWrite: 0,
  netRx: 0,
  netTx: 0,
  ...s,
});

Deno.test("stats: Docker's CPU % and MEM %, /proc parsing, cells", () => {
  // Half a CPU on a 2-CPU host: 0.5 s of CPU in 2 s of host CPU time (1 s wall).
  const a = sample({ cpuNs: 1e9, systemNs: 10e9 });
  const b = sample({ cpuNs: 1.5e9, systemNs: 12e9, memUsage: 16 * MiB, memLimit: 64 * MiB });
  assert.equal(cpuPercent(a, b), 50);
  assert.equal(cpuPercent(undefined, b), 0);
  assert.equal(memPercent(b), 25);
  assert.equal(hostCpuNs("cpu  100 0 50 850 0 0 0 0 0 0\ncpu0 1 2 3\n"), 1000 * 1e7);
  const netDev = "Inter-|   Receive\n face |bytes\n" +
    "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n" +
    "  eth0:    2000      10    0    0    0     0          0         0     3000      12    0    0    0     0       0          0\n";
  assert.deepEqual(netBytes(netDev), { rx: 2000, tx: 3000 });
  const cells = statsCells({ ...b, blkWrite: 1500, netRx: 2000, pids: 3 }, {
    cpuPercent: 50,
    memPercent: 25,
    fullId: false,
  });
  assert.deepEqual(cells, {
    ID: "ffffffffffff",
    Name: "web",
    CPUPerc: "50.00%",
    MemUsage: "16MiB / 64MiB",
    MemPerc: "25.00%",
    NetIO: "2kB / 0B",
    BlockIO: "0B / 1.50kB",
    PIDs: "3",
  });
});
