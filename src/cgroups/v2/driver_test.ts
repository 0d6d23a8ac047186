import assert from "node:assert/strict";
import { UsageError } from "../../errors.ts";
import { addFiles, makeFixture, read, removeFixture } from "../fixture_testutil.ts";
import { V2Driver } from "./driver.ts";

const MiB = 1024 * 1024;
const ALL = "cpuset cpu io memory hugetlb pids";

function groupFiles(path: string): Record<string, string> {
  const f: Record<string, string> = {};
  for (
    const name of [
      "cpu.weight",
      "cpu.max",
      "cpuset.cpus",
      "cpuset.mems",
      "memory.max",
      "memory.low",
      "memory.swap.max",
      "memory.oom.group",
      "memory.high",
      "io.weight",
      "io.max",
      "pids.max",
      "hugetlb.2MB.max",
      "cgroup.procs",
      "cgroup.freeze",
    ]
  ) f[`${path}/${name}`] = "";
  f[`${path}/memory.max`] = "max";
  f[`${path}/pids.max`] = "max";
  f[`${path}/cgroup.events`] = "populated 0\nfrozen 0\n";
  f[`${path}/cgroup.controllers`] = ALL;
  f[`${path}/cgroup.subtree_control`] = "";
  f[`${path}/cpu.stat`] = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n";
  f[`${path}/memory.current`] = "4096";
  f[`${path}/memory.peak`] = "8192";
  f[`${path}/memory.stat`] = "anon 10\nfile 300\n";
  f[`${path}/memory.events`] = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n";
  f[`${path}/pids.current`] = "2";
  f[`${path}/io.stat`] = "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1\n";
  return f;
}

function fixture(controllers = ALL): { root: string; driver: V2Driver } {
  const root = makeFixture({
    "cgroup.controllers": controllers,
    "cgroup.subtree_control": "",
    "cpuset.cpus.effective": "0-3",
    "cpuset.mems.effective": "0",
    ...groupFiles("tsbox"),
    ...groupFiles("tsbox/abc"),
  });
  const driver = new V2Driver({ root, host: { cpus: [0, 1, 2, 3], mems: [0] }, timeoutMs: 300 });
  return { root, driver };
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).sort();

Deno.test("V2Driver.create: enables controllers top-down and writes v2 values", () => {
  const { root, driver } = fixture();
  try {
    driver.create("tsbox/abc", {
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1" },
      memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 96 * MiB, oomGroup: true },
      pids: { limit: -1 },
      blockIO: {
        weight: 500,
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 4 * 2 * MiB }],
      unified: { "memory.high": "50331648" },
    });
    const want = ["+cpu", "+cpuset", "+hugetlb", "+io", "+memory", "+pids"];
    assert.deepEqual(words(read(root, "cgroup.subtree_control")), want);
    assert.deepEqual(words(read(root, "tsbox/cgroup.subtree_control")), want);
    assert.equal(read(root, "tsbox/abc/cgroup.subtree_control"), "", "not in the leaf");
    const g = (f: string) => read(root, `tsbox/abc/${f}`);
    assert.equal(g("cpu.weight"), "39");
    assert.equal(g("cpu.max"), "50000 100000");
    assert.equal(g("cpuset.cpus"), "0-1");
    assert.equal(g("memory.max"), String(64 * MiB));
    assert.equal(g("memory.low"), String(32 * MiB));
    assert.equal(g("memory.swap.max"), String(32 * MiB));
    assert.equal(g("memory.oom.group"), "1");
    assert.equal(g("memory.high"), "50331648");
    assert.equal(g("pids.max"), "max");
    assert.equal(g("io.weight"), "4950");
    assert.equal(g("io.max"), "8:0 rbps=1048576 wiops=100\n");
    assert.equal(g("hugetlb.2MB.max"), String(8 * MiB));
  } finally {
    removeFixture(root);
  }
});

Deno.test("V2Driver.create: io.bfq.weight takes the blkio weight as it is", () => {
  const { root, driver } = fixture();
  try {
    addFiles(root, { "tsbox/abc/io.bfq.weight": "default 100\n" });
    driver.create("tsbox/abc", { blockIO: { weight: 500 } });
    assert.equal(read(root, "tsbox/abc/io.bfq.weight"), "500");
    assert.equal(read(root, "tsbox/abc/io.weight"), "");
  } finally {
    removeFixture(root);
  }
});

Deno.test("V2Driver.validate: v1-only settings and missing controllers", () => {
  const { root, driver } = fixture("cpu pids");
  try {
    assert.throws(
      () =>
        driver.validate("tsbox/abc", {
          network: { classID: 1 },
          memory: { limit: 64 * MiB },
          cpu: { cpus: "4" },
        }),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message ===
          "requested CPUs are not available - requested 4, available: 0-3; " +
            "net_cls is a cgroup v1 controller; this host uses cgroup v2; " +
            `the cpuset controller is not available in cgroup v2 (${root}/cgroup.controllers: cpu pids); ` +
            `the memory controller is not available in cgroup v2 (${root}/cgroup.controllers: cpu pids)`,
    );
  } finally {
    removeFixture(root);
  }
});

Deno.test("V2Driver: only the always-enabled controllers on offer are enabled for an empty request", () => {
  const { root } = fixture("cpu hugetlb");
  try {
    new V2Driver({ root, host: { cpus: [0], mems: [0] } }).create("tsbox/abc");
    assert.equal(read(root, "cgroup.subtree_control"), "+cpu\n");
    new V2Driver({ root, alwaysEnable: [], host: { cpus: [0], mems: [0] } }).create("tsbox/abc");
    assert.equal(read(root, "tsbox/cgroup.subtree_control"), "+cpu\n", "nothing more written");
  } finally {
    removeFixture(root);
  }
});

Deno.test("V2Driver: stats, oomEvents, pids, freeze, addProcess", async () => {
  const { root, driver } = fixture();
  try {
    assert.deepEqual(driver.stats("tsbox/abc"), {
      cpu: { usageNs: 1_500_000, userNs: 1_000_000, systemNs: 500_000 },
      memory: { usage: 4096, limit: null, maxUsage: 8192, cache: 300 },
      pids: { current: 2, limit: null },
      blkio: { readBytes: 101, writeBytes: 200, readOps: 1, writeOps: 2 },
      oomKills: 1,
    });
    assert.equal(driver.oomEvents("tsbox/abc"), 1);
    driver.addProcess("tsbox/abc", 42);
    assert.equal(read(root, "tsbox/abc/cgroup.procs"), "42\n");
    assert.deepEqual(driver.pids("tsbox"), [42]);
    // The fixture's cgroup.events says frozen 0: freeze waits, then times out.
    await assert.rejects(driver.freeze("tsbox/abc"), /freeze ".*tsbox\/abc": timed out/);
    assert.equal(read(root, "tsbox/abc/cgroup.freeze"), "1");
    addFiles(root, { "tsbox/abc/cgroup.events": "populated 1\nfrozen 1\n" });
    await driver.freeze("tsbox/abc");
    assert.equal(driver.state("tsbox/abc"), "frozen");
    addFiles(root, { "tsbox/abc/cgroup.events": "populated 1\nfrozen 0\n" });
    await driver.thaw("tsbox/abc");
    assert.equal(read(root, "tsbox/abc/cgroup.freeze"), "0");
    assert.equal(driver.state("tsbox/abc"), "thawed");
    assert.deepEqual(driver.dirs("tsbox/abc"), [`${root}/tsbox/abc`]);
  } finally {
    removeFixture(root);
  }
});
