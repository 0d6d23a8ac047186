import assert from "node:assert/strict";
import type { Resources } from "../spec/types.ts";
import {
  blkioWeightToIoWeight,
  type CgroupResources,
  cpuMax,
  hugepageSizeName,
  ioMaxLines,
  neededControllers,
  pickResources,
  sharesToWeight,
  swapMaxV2,
  v1DeviceRule,
  v2Limit,
} from "./resources.ts";

const MiB = 1024 * 1024;

Deno.test("CgroupResources: a spec's linux.resources is accepted as it is", () => {
  const spec: Resources = {
    memory: { limit: 64 * MiB },
    devices: [{ allow: false, access: "rwm" }],
  };
  const r: CgroupResources = spec;
  assert.equal(r.memory?.limit, 64 * MiB);
});

Deno.test("sharesToWeight: the OCI formula, clamped", () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(512), 20);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(sharesToWeight(1), 1);
  assert.equal(sharesToWeight(1_000_000), 10000);
});

Deno.test("cpuMax: quota and period, max for none, undefined for unset", () => {
  assert.equal(cpuMax(50000, 100000), "50000 100000");
  assert.equal(cpuMax(50000, undefined), "50000 100000");
  assert.equal(cpuMax(-1, 250000), "max 250000");
  assert.equal(cpuMax(undefined, 20000), "max 20000");
  assert.equal(cpuMax(undefined, undefined), undefined);
  assert.equal(cpuMax(0, 0), undefined);
});

Deno.test("swapMaxV2: v2 swap is the OCI memory+swap minus the memory limit", () => {
  assert.equal(swapMaxV2(128 * MiB, 64 * MiB), String(64 * MiB));
  assert.equal(swapMaxV2(64 * MiB, 64 * MiB), "0");
  assert.equal(swapMaxV2(-1, 64 * MiB), "max");
  assert.equal(swapMaxV2(undefined, 64 * MiB), undefined);
  assert.equal(swapMaxV2(undefined, -1), "max");
  assert.equal(swapMaxV2(100, -1), "100");
  assert.throws(() => swapMaxV2(100, undefined), /needs a memory limit/);
  assert.throws(() => swapMaxV2(32 * MiB, 64 * MiB), /below the memory limit/);
});

Deno.test("blkioWeightToIoWeight: 10..1000 maps onto 1..10000", () => {
  assert.equal(blkioWeightToIoWeight(10), 1);
  assert.equal(blkioWeightToIoWeight(1000), 10000);
  assert.equal(blkioWeightToIoWeight(500), 4950);
});

Deno.test("ioMaxLines: one line per device with the keys given; 0 is max", () => {
  assert.deepEqual(
    ioMaxLines({
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 0 }],
    }),
    ["8:0 rbps=1048576 wbps=2097152 wiops=max", "8:16 riops=100"],
  );
  assert.deepEqual(ioMaxLines(undefined), []);
});

Deno.test("v1DeviceRule: the devices.allow syntax", () => {
  assert.equal(
    v1DeviceRule({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }),
    "c 1:3 rwm",
  );
  assert.equal(v1DeviceRule({ allow: true, type: "c", major: 136, access: "rw" }), "c 136:* rw");
  assert.equal(v1DeviceRule({ allow: true, type: "b", major: null, minor: -1 }), "b *:* rwm");
  assert.equal(v1DeviceRule({ allow: false, access: "rwm" }), "a");
});

Deno.test("v2Limit and hugepageSizeName", () => {
  assert.equal(v2Limit(-1), "max");
  assert.equal(v2Limit(100), "100");
  assert.equal(hugepageSizeName("2MB"), "2MB");
  assert.equal(hugepageSizeName("2048kB"), "2MB");
  assert.equal(hugepageSizeName("1G"), "1GB");
  assert.equal(hugepageSizeName("64KB"), "64KB");
  assert.equal(hugepageSizeName("huge"), undefined);
});

Deno.test("neededControllers: only what is set", () => {
  assert.deepEqual([...neededControllers({})], []);
  assert.deepEqual(
    [
      ...neededControllers({
        cpu: { shares: 512, cpus: "0" },
        memory: { limit: 10 * MiB },
        pids: { limit: 5 },
        blockIO: { weight: 100 },
        devices: [{ allow: true }],
        network: { classID: 1 },
        hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
        unified: { "memory.high": "1G" },
      }),
    ].sort(),
    ["cpu", "cpuset", "devices", "hugetlb", "io", "memory", "net_cls", "pids", "unified"],
  );
  assert.deepEqual([...neededControllers({ cpu: { cpus: "" }, blockIO: {} })], []);
});

Deno.test("pickResources: splits a request by controller", () => {
  const r: CgroupResources = {
    cpu: { shares: 512, cpus: "0", mems: "0" },
    memory: { limit: 10 * MiB },
    network: { classID: 1, priorities: [{ name: "eth0", priority: 1 }] },
    hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
  };
  assert.deepEqual(pickResources(r, (c) => c !== "hugetlb" && c !== "cpuset" && c !== "net_prio"), {
    cpu: { shares: 512 },
    memory: { limit: 10 * MiB },
    network: { classID: 1 },
  });
  assert.deepEqual(pickResources(r, (c) => c === "hugetlb" || c === "cpuset"), {
    cpu: { cpus: "0", mems: "0" },
    hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
  });
});
