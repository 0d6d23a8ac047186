import assert from "node:assert/strict";
import { formatError, UsageError } from "../../errors.ts";
import { DOCKER_DEFAULT_DEVICE_RULES } from "../default_devices.ts";
import type { V1ControllerName } from "../detect.ts";
import { makeFixture, read, removeFixture } from "../fixture_testutil.ts";
import { V1Driver } from "./driver.ts";
import { v1DeviceWrites } from "./devices.ts";

const MiB = 1024 * 1024;
const BIG = "9223372036854771712";
const CONTROLLERS = [
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "pids",
  "blkio",
  "devices",
  "freezer",
  "net_cls",
] as const;

/** The control files a new v1 group directory has (the subset tsbox touches). */
function groupFiles(path: string): Record<string, string> {
  const f: Record<string, string> = {};
  const add = (ctl: string, files: Record<string, string>) => {
    f[`${ctl}/${path}/cgroup.procs`] = "";
    for (const [k, v] of Object.entries(files)) f[`${ctl}/${path}/${k}`] = v;
  };
  add("cpu", {
    "cpu.shares": "1024",
    "cpu.cfs_period_us": "100000",
    "cpu.cfs_quota_us": "-1",
    "cpu.stat": "nr_periods 4\nnr_throttled 1\nthrottled_time 5000\n",
  });
  add("cpuacct", {
    "cpuacct.usage": "123456",
    "cpuacct.usage_percpu": "100000 23456 ",
    "cpuacct.stat": "user 3\nsystem 1\n",
  });
  add("cpuset", { "cpuset.cpus": "", "cpuset.mems": "" });
  add("memory", {
    "memory.limit_in_bytes": BIG,
    "memory.soft_limit_in_bytes": BIG,
    "memory.memsw.limit_in_bytes": BIG,
    "memory.swappiness": "60",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    "memory.usage_in_bytes": "4096",
    "memory.max_usage_in_bytes": "8192",
    "memory.stat": "cache 100\ntotal_cache 200\nhierarchical_memory_limit 67108864\n",
  });
  add("pids", { "pids.max": "max", "pids.current": "1" });
  add("blkio", {
    "blkio.bfq.weight": "100",
    "blkio.throttle.read_bps_device": "",
    "blkio.throttle.write_iops_device": "",
    "blkio.throttle.io_service_bytes_recursive":
      "8:0 Read 100\n8:0 Write 50\n8:16 Read 1\n8:0 Total 150\nTotal 151\n",
    "blkio.throttle.io_serviced_recursive": "8:0 Read 3\n8:0 Write 2\n",
  });
  add("devices", { "devices.allow": "", "devices.deny": "" });
  add("freezer", { "freezer.state": "THAWED" });
  add("net_cls", { "net_cls.classid": "0" });
  return f;
}

function fixture(): { root: string; driver: V1Driver } {
  const root = makeFixture({
    "cpuset/cpuset.cpus": "0-3",
    "cpuset/cpuset.mems": "0",
    "cpuset/cpuset.effective_cpus": "0-3",
    "cpuset/cpuset.effective_mems": "0",
    ...groupFiles("tsbox"),
    ...groupFiles("tsbox/abc"),
  });
  const mounts: Partial<Record<V1ControllerName, string>> = {};
  for (const c of CONTROLLERS) mounts[c] = `${root}/${c}`;
  const driver = new V1Driver({ mounts, host: { cpus: [0, 1, 2, 3], mems: [0] }, timeoutMs: 200 });
  return { root, driver };
}

Deno.test("V1Driver.create: writes each controller's files", () => {
  const { root, driver } = fixture();
  try {
    driver.create("/tsbox/abc/", {
      memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB, swappiness: 0 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "1", realtimeRuntime: 0 },
      pids: { limit: 20 },
      blockIO: {
        weight: 300,
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 10 }],
      },
      network: { classID: 0x100001 },
      devices: [...DOCKER_DEFAULT_DEVICE_RULES],
    });
    const g = (f: string) => read(root, f);
    assert.equal(g("memory/tsbox/abc/memory.limit_in_bytes"), String(64 * MiB));
    assert.equal(g("memory/tsbox/abc/memory.memsw.limit_in_bytes"), String(128 * MiB));
    assert.equal(g("memory/tsbox/abc/memory.soft_limit_in_bytes"), String(32 * MiB));
    assert.equal(g("memory/tsbox/abc/memory.swappiness"), "0");
    assert.equal(g("cpu/tsbox/abc/cpu.shares"), "512");
    assert.equal(g("cpu/tsbox/abc/cpu.cfs_quota_us"), "50000");
    assert.equal(g("cpu/tsbox/abc/cpu.cfs_period_us"), "100000");
    assert.equal(g("cpuset/tsbox/cpuset.cpus"), "0-3", "copied down from the root");
    assert.equal(g("cpuset/tsbox/cpuset.mems"), "0");
    assert.equal(g("cpuset/tsbox/abc/cpuset.cpus"), "1");
    assert.equal(g("cpuset/tsbox/abc/cpuset.mems"), "0");
    assert.equal(g("pids/tsbox/abc/pids.max"), "20");
    assert.equal(g("blkio/tsbox/abc/blkio.bfq.weight"), "300");
    assert.equal(g("blkio/tsbox/abc/blkio.throttle.read_bps_device"), "8:0 1048576\n");
    assert.equal(g("blkio/tsbox/abc/blkio.throttle.write_iops_device"), "8:0 10\n");
    assert.equal(g("net_cls/tsbox/abc/net_cls.classid"), String(0x100001));
    assert.equal(g("devices/tsbox/abc/devices.deny"), "a\nc 10:229 rwm\n");
    assert.equal(
      g("devices/tsbox/abc/devices.allow"),
      [
        "c 1:5 rwm",
        "c 1:3 rwm",
        "c 1:9 rwm",
        "c 1:8 rwm",
        "c 5:0 rwm",
        "c 5:1 rwm",
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 1:8 rwm",
        "c 1:7 rwm",
        "c 5:0 rwm",
        "c 1:5 rwm",
        "c 1:9 rwm",
        "c 136:* rwm",
        "c 5:2 rwm",
        "c 10:200 rwm",
        "",
      ].join("\n"),
    );
  } finally {
    removeFixture(root);
  }
});

Deno.test("v1DeviceWrites: a list not starting with a wildcard resets to deny-all first", () => {
  assert.deepEqual(v1DeviceWrites([{ allow: true, type: "c", major: 1, minor: 3, access: "r" }]), [
    ["devices.deny", "a"],
    ["devices.allow", "c 1:3 r"],
  ]);
  assert.deepEqual(v1DeviceWrites([{ allow: true, access: "rwm" }]), [["devices.allow", "a"]]);
  assert.deepEqual(v1DeviceWrites([]), []);
});

Deno.test("V1Driver.create: bad input throws UsageError and creates nothing", () => {
  const { root, driver } = fixture();
  try {
    assert.throws(
      () => driver.create("tsbox/new", { cpu: { cpus: "5" }, memory: { limit: MiB } }),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message ===
          "minimum memory limit allowed is 6MB; requested CPUs are not available - requested 5, available: 0-3",
    );
    assert.equal(driver.exists("tsbox/new"), false);
    assert.throws(() => driver.create("../x"), /invalid cgroup path "..\/x"/);
    assert.throws(() => driver.create("/"), /it names the root/);
  } finally {
    removeFixture(root);
  }
});

Deno.test("V1Driver.validate: a child's CFS quota may not exceed its parent's", () => {
  const { root, driver } = fixture();
  try {
    Deno.writeTextFileSync(`${root}/cpu/tsbox/cpu.cfs_quota_us`, "50000");
    assert.throws(
      () => driver.validate("tsbox/abc", { cpu: { quota: 100000, period: 100000 } }),
      /cpu quota of 1.00 CPUs exceeds the parent group's 0.50 CPUs/,
    );
    driver.validate("tsbox/abc", { cpu: { quota: 25000, period: 100000 } });
  } finally {
    removeFixture(root);
  }
});

Deno.test("V1Driver.validate: a controller that is not mounted", () => {
  const root = makeFixture({ "memory/": "" });
  try {
    const driver = new V1Driver({
      mounts: { memory: `${root}/memory` },
      host: { cpus: [0], mems: [0] },
    });
    assert.throws(
      () => driver.validate("x", { pids: { limit: 5 }, network: { classID: 1 } }),
      /the pids controller is not mounted on this host; the net_cls controller is not mounted/,
    );
  } finally {
    removeFixture(root);
  }
});

Deno.test("V1Driver.create: a kernel failure removes the directories it made", () => {
  const { root, driver } = fixture();
  try {
    // A fresh directory in the fixture has no control files: the cpuset copy fails.
    assert.throws(
      () => driver.create("tsbox/fresh/leaf"),
      (e: unknown) => {
        const msg = formatError(e);
        assert.match(msg, /^create cgroup "tsbox\/fresh\/leaf": openat ".*cpuset\.cpus": ENOENT/);
        return true;
      },
    );
    assert.equal(driver.exists("tsbox/fresh"), false);
    assert.equal(driver.exists("tsbox"), true, "existing ancestors stay");
  } finally {
    removeFixture(root);
  }
});

Deno.test("V1Driver: stats, pids, oomEvents, freezer, dirs", async () => {
  const { root, driver } = fixture();
  try {
    Deno.writeTextFileSync(`${root}/freezer/tsbox/abc/cgroup.procs`, "11\n10\n");
    Deno.mkdirSync(`${root}/freezer/tsbox/abc/sub`);
    Deno.writeTextFileSync(`${root}/freezer/tsbox/abc/sub/cgroup.procs`, "12\n");
    assert.deepEqual(driver.pids("tsbox/abc"), [10, 11, 12]);
    assert.deepEqual(driver.stats("tsbox/abc"), {
      cpu: {
        usageNs: 123456,
        perCpuNs: [100000, 23456],
        userNs: 30_000_000,
        systemNs: 10_000_000,
        throttled: { periods: 4, throttledPeriods: 1, throttledNs: 5000 },
      },
      memory: { usage: 4096, limit: null, maxUsage: 8192, cache: 200 },
      pids: { current: 1, limit: null },
      blkio: { readBytes: 101, writeBytes: 50, readOps: 3, writeOps: 2 },
      oomKills: 2,
    });
    assert.equal(driver.oomEvents("tsbox/abc"), 2);
    assert.equal(driver.state("tsbox/abc"), "thawed");
    await driver.freeze("tsbox/abc");
    assert.equal(read(root, "freezer/tsbox/abc/freezer.state"), "FROZEN");
    assert.equal(driver.state("tsbox/abc"), "frozen");
    await driver.thaw("tsbox/abc");
    assert.equal(read(root, "freezer/tsbox/abc/freezer.state"), "THAWED");
    assert.equal(driver.dirs("tsbox/abc").length, CONTROLLERS.length);
    assert.equal(driver.procPath("tsbox/abc/"), "/tsbox/abc");
    assert.equal(driver.cgroupDirFd("tsbox/abc"), undefined);
  } finally {
    removeFixture(root);
  }
});
