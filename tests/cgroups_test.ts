// Root tests of the cgroup layer (src/cgroups/) against the kernel of this
// host. On a hybrid host (v1 controllers + /sys/fs/cgroup/unified) they cover
// the hybrid driver, the v1 driver alone (the legacy path), and the v2 driver
// and BPF device filter on the unified hierarchy. Every group is made under a
// name that starts with RUN and removed by the test that made it; the last
// test checks that nothing named RUN* is left anywhere under /sys/fs/cgroup.

import assert from "node:assert/strict";
import { P_PIDFD, WEXITED } from "../ffi/constants.ts";
import { encodeProgram, ProgramBuilder } from "../ffi/program.ts";
import { spawn } from "../ffi/spawn.ts";
import { sys, sysRaw } from "../ffi/syscall.ts";
import { formatCpuList } from "../src/cgroups/cpulist.ts";
import { DOCKER_DEFAULT_DEVICE_RULES } from "../src/cgroups/default_devices.ts";
import { detectCgroups } from "../src/cgroups/detect.ts";
import type { CgroupDriver } from "../src/cgroups/driver.ts";
import { effectiveLimits } from "../src/cgroups/effective.ts";
import { openCgroups } from "../src/cgroups/open.ts";
import { parseProcCgroup, procCgroupPath } from "../src/cgroups/proc.ts";
import type { CgroupResources } from "../src/cgroups/resources.ts";
import { hierarchicalMemoryLimit } from "../src/cgroups/v1/memory.ts";
import { V1Driver } from "../src/cgroups/v1/driver.ts";
import { applyDeviceRules, attachedDevicePrograms } from "../src/cgroups/v2/devices.ts";
import { V2Driver } from "../src/cgroups/v2/driver.ts";
import { formatError, UsageError } from "../src/errors.ts";
import { requires } from "./lib/harness.ts";

const RUN = `tsbox-test-cg${crypto.randomUUID().slice(0, 8)}`;
const MiB = 1024 * 1024;
const CG = "/sys/fs/cgroup";
const layout = Deno.uid() === 0 ? detectCgroups() : undefined;
const hasUnified = layout?.v2Root !== undefined;

/** Every directory named tsbox-test-* under /sys/fs/cgroup. */
function testDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 8) return;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory || e.isSymlink) continue;
      if (e.name.startsWith("tsbox-test-")) out.push(`${dir}/${e.name}`);
      walk(`${dir}/${e.name}`, depth + 1);
    }
  };
  walk(CG, 0);
  return out.sort();
}
const dirsBefore = Deno.uid() === 0 ? testDirs() : [];
const fdList = () =>
  [...Deno.readDirSync("/proc/self/fd")].map((e) => {
    try {
      return `${e.name} ${Deno.readLinkSync(`/proc/self/fd/${e.name}`)}`;
    } catch {
      return e.name;
    }
  });
const fdsBefore = Deno.uid() === 0 ? fdList() : [];

/** Options of a root test: skips with a reason, no Deno resource sanitizers (children, pipes). */
function rootTest(
  name: string,
  fn: () => Promise<void>,
  needs: ("cgroup1" | "cgroup2")[] = ["cgroup1"],
): void {
  Deno.test({
    name,
    ...requires("root", ...needs),
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

const read = (path: string) => Deno.readTextFileSync(path).trim();

/** A control file of group `path` in the hierarchy that serves controller `ctl`. */
function ctlFile(ctl: "pids" | "memory", path: string, name: string): string {
  const root = layout!.mode === "unified" ? layout!.v2Root : layout!.v1[ctl];
  return `${root}/${path}/${name}`;
}

/** A child that waits for a line on stdin before running `script`, so it can be placed first. */
function startScript(script: string) {
  const child = new Deno.Command("sh", {
    args: ["-c", `read _ ; ${script}`],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdinOpen = true;
  const go = async () => {
    stdinOpen = false;
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("\n"));
    await w.close();
  };
  const output = async () => {
    if (stdinOpen) await child.stdin.close().catch(() => {});
    stdinOpen = false;
    const out = await child.output();
    return {
      code: out.code,
      signal: out.signal,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  return { pid: child.pid, go, output, kill: () => child.kill("SIGKILL") };
}

/** Runs `fn` with a fresh group base; destroys it afterwards and checks that it is gone. */
async function withGroup(
  driver: CgroupDriver,
  name: string,
  fn: (base: string) => Promise<void> | void,
): Promise<void> {
  const base = `${RUN}-${name}`;
  try {
    await fn(base);
  } finally {
    await driver.destroy(base);
  }
  assert.equal(driver.exists(base), false);
  assert.deepEqual(driver.dirs(base), []);
}

rootTest(
  "hybrid driver: create writes v1 limits, places a process everywhere, destroy removes all",
  async () => {
    const cg = openCgroups();
    assert.equal(cg.mode, layout!.mode);
    await withGroup(cg, "create", async (base) => {
      const path = `${base}/c1`;
      const r: CgroupResources = {
        memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB },
        pids: { limit: 10 },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0" },
        devices: [...DOCKER_DEFAULT_DEVICE_RULES],
      };
      cg.create(path, r);
      const v1 = layout!.v1;
      assert.equal(read(`${v1.memory}/${path}/memory.limit_in_bytes`), String(64 * MiB));
      assert.equal(read(`${v1.memory}/${path}/memory.memsw.limit_in_bytes`), String(128 * MiB));
      assert.equal(read(`${v1.memory}/${path}/memory.soft_limit_in_bytes`), String(32 * MiB));
      assert.equal(read(`${v1.pids}/${path}/pids.max`), "10");
      assert.equal(read(`${v1.cpu}/${path}/cpu.shares`), "512");
      assert.equal(read(`${v1.cpu}/${path}/cpu.cfs_quota_us`), "50000");
      assert.equal(read(`${v1.cpuset}/${path}/cpuset.cpus`), "0");
      assert.equal(read(`${v1.cpuset}/${base}/cpuset.cpus`), read(`${v1.cpuset}/cpuset.cpus`));
      const devices = read(`${v1.devices}/${path}/devices.list`).split("\n");
      for (const rule of ["c 1:3 rwm", "c 136:* rwm", "c *:* m", "b *:* m", "c 10:200 rwm"]) {
        assert.ok(devices.includes(rule), `devices.list has ${rule}: ${devices.join(", ")}`);
      }
      assert.ok(!devices.includes("a *:* rwm"));
      if (hasUnified) assert.ok(Deno.statSync(`${layout!.v2Root}/${path}`).isDirectory);

      const child = startScript("exec sleep 1000");
      cg.addProcess(path, child.pid);
      const entries = parseProcCgroup(Deno.readTextFileSync(`/proc/${child.pid}/cgroup`));
      for (const ctl of ["memory", "pids", "cpu", "freezer", "devices"]) {
        assert.equal(procCgroupPath(entries, ctl), cg.procPath(path), ctl);
      }
      if (hasUnified) assert.equal(procCgroupPath(entries, ""), `/${path}`);
      assert.deepEqual(cg.pids(base), [child.pid]);
      const stats = cg.stats(path);
      assert.equal(stats.pids.current, 1);
      assert.equal(stats.pids.limit, 10);
      assert.equal(stats.memory.limit, 64 * MiB);
      assert.equal(cg.oomEvents(path), 0);
      await cg.destroy(base);
      const out = await child.output();
      assert.equal(out.signal, "SIGKILL");
      for (const d of [...Object.values(v1), layout!.v2Root]) {
        if (d) assert.throws(() => Deno.statSync(`${d}/${base}`), Deno.errors.NotFound);
      }
    });
  },
);

rootTest("pids.max stops forks; kill empties the group", async () => {
  const cg = openCgroups();
  await withGroup(cg, "pids", async (base) => {
    cg.create(base, { pids: { limit: 3 } });
    const child = startScript("for i in 1 2 3 4 5 6; do sleep 1000 & done; wait");
    cg.addProcess(base, child.pid);
    await child.go();
    await new Promise((r) => setTimeout(r, 300));
    const current = Number(read(ctlFile("pids", base, "pids.current")));
    assert.ok(current <= 3, `pids.current ${current}`);
    assert.match(read(ctlFile("pids", base, "pids.events")), /^max [1-9]/);
    assert.ok(cg.pids(base).length >= 2);
    await cg.kill(base);
    assert.deepEqual(cg.pids(base), []);
    // The shell itself gives up when a fork fails; its sleeps were killed.
    const out = await child.output();
    assert.match(out.stderr, /fork/i);
  });
}, []);

rootTest("freeze and thaw; kill while frozen", async () => {
  const cg = openCgroups();
  await withGroup(cg, "freeze", async (base) => {
    cg.create(base);
    const child = startScript("exec sleep 1000");
    cg.addProcess(base, child.pid);
    assert.equal(cg.state(base), "thawed");
    await cg.freeze(base);
    assert.equal(cg.state(base), "frozen");
    if (layout!.v1.freezer) {
      assert.equal(read(`${layout!.v1.freezer}/${base}/freezer.state`), "FROZEN");
    }
    await cg.thaw(base);
    assert.equal(cg.state(base), "thawed");
    await cg.freeze(base);
    await cg.kill(base);
    assert.deepEqual(cg.pids(base), []);
    assert.equal((await child.output()).signal, "SIGKILL");
  });
}, []);

rootTest("v1 driver alone (legacy path): kill by freezing and SIGKILLing every pid", async () => {
  const cg = new V1Driver({ mounts: layout!.v1 });
  await withGroup(cg, "legacy", async (base) => {
    cg.create(`${base}/x`, { memory: { limit: 32 * MiB } });
    const child = startScript("sleep 1000 & sleep 1000 & wait");
    cg.addProcess(`${base}/x`, child.pid);
    await child.go();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(cg.pids(base).length, 3);
    if (hasUnified) {
      assert.throws(() => Deno.statSync(`${layout!.v2Root}/${base}`), Deno.errors.NotFound);
    }
    await cg.kill(base);
    assert.deepEqual(cg.pids(base), []);
    assert.equal((await child.output()).signal, "SIGKILL");
  });
});

rootTest("nested groups: effective limits match the kernel's", async () => {
  const cg = openCgroups();
  await withGroup(cg, "nested", (base) => {
    const a: CgroupResources = {
      memory: { limit: 64 * MiB },
      pids: { limit: 10 },
      cpu: { quota: 50000, period: 100000, cpus: "0-1" },
    };
    const b: CgroupResources = {
      memory: { limit: 128 * MiB },
      pids: { limit: 20 },
      cpu: { quota: 25000, period: 100000, cpus: "1" },
    };
    cg.create(`${base}/a`, a);
    cg.create(`${base}/a/b`, b);
    const [, eb] = effectiveLimits([a, b]);
    const v1 = layout!.v1;
    assert.equal(hierarchicalMemoryLimit(`${v1.memory}/${base}/a/b`), eb!.memory);
    assert.equal(eb!.memory, 64 * MiB);
    assert.equal(read(`${v1.cpuset}/${base}/a/b/cpuset.effective_cpus`), formatCpuList(eb!.cpus!));
    assert.equal(eb!.pids, 10);
    assert.equal(eb!.cpuRate, 0.25);
    // cgroup v1 refuses a child quota above its parent's: validation says so first.
    assert.throws(
      () => cg.apply(`${base}/a/b`, { cpu: { quota: 100000, period: 100000 } }),
      /cpu quota of 1\.00 CPUs exceeds the parent group's 0\.50 CPUs/,
    );
    assert.equal(read(`${v1.cpu}/${base}/a/b/cpu.cfs_quota_us`), "25000");
  });
});

rootTest(
  "bad input: clear errors, nothing created; kernel refusals name file and errno",
  async () => {
    const cg = openCgroups();
    const bad: [CgroupResources, RegExp][] = [
      [{ memory: { limit: MiB } }, /^minimum memory limit allowed is 6MB$/],
      [{ cpu: { cpus: "0-63" } }, /requested CPUs are not available - requested 0-63, available: /],
      [{ cpu: { quota: 10_000_000, period: 100000 } }, /range of CPUs is from 0\.01 to/],
      [{ blockIO: { weight: 5 } }, /range of blkio weight is from 10 to 1000/],
      [{ pids: { limit: 0 } }, /invalid pids limit 0/],
      [{ network: { classID: 0x100001 } }, /the net_cls controller is not mounted/],
    ];
    await withGroup(cg, "bad", (base) => {
      for (const [r, re] of bad) {
        assert.throws(
          () => cg.create(`${base}/x`, r),
          (e: unknown) => e instanceof UsageError && re.test(e.message),
          JSON.stringify(r),
        );
        assert.equal(cg.exists(base), false, "nothing created");
      }
      assert.throws(() => cg.create("../escape"), /invalid cgroup path/);
      // The kernel refuses a memory limit above memory+swap: the error chain names the file.
      cg.create(base, { memory: { limit: 64 * MiB, swap: 64 * MiB } });
      assert.throws(
        () => cg.apply(base, { memory: { limit: 128 * MiB } }),
        (e: unknown) => {
          assert.equal(
            formatError(e),
            `set memory limits of cgroup "${base}": write "${
              layout!.v1.memory
            }/${base}/memory.limit_in_bytes": EINVAL (Invalid argument)`,
          );
          return true;
        },
      );
    });
  },
);

rootTest("OOM kills are counted", async () => {
  const cg = openCgroups();
  await withGroup(cg, "oom", async (base) => {
    cg.create(base, { memory: { limit: 8 * MiB, swap: 8 * MiB } });
    const child = startScript("head -c 100000000 /dev/zero | tail > /dev/null");
    cg.addProcess(base, child.pid);
    await child.go();
    const out = await child.output();
    assert.notEqual(out.code, 0);
    assert.ok(cg.oomEvents(base) >= 1, `oom_kill ${cg.oomEvents(base)}`);
    assert.equal(cg.stats(base).oomKills, cg.oomEvents(base));
    const limitFile = layout!.mode === "unified" ? "memory.max" : "memory.limit_in_bytes";
    assert.equal(read(ctlFile("memory", base, limitFile)), String(8 * MiB));
  });
}, []);

rootTest(
  "v2 driver on the unified hierarchy: place, cgroup.freeze, cgroup.kill, remove",
  async () => {
    if (!hasUnified) return;
    const cg = new V2Driver({ root: layout!.v2Root!, alwaysEnable: [] });
    const subtree = read(`${layout!.v2Root}/cgroup.subtree_control`);
    await withGroup(cg, "v2", async (base) => {
      cg.create(`${base}/leaf`);
      const child = startScript("exec sleep 1000");
      cg.addProcess(`${base}/leaf`, child.pid);
      const entries = parseProcCgroup(Deno.readTextFileSync(`/proc/${child.pid}/cgroup`));
      assert.equal(procCgroupPath(entries, ""), `/${base}/leaf`);
      assert.match(read(`${cg.root}/${base}/cgroup.events`), /populated 1/);
      await cg.freeze(base);
      assert.equal(cg.state(base), "frozen");
      assert.equal(cg.state(`${base}/leaf`), "frozen", "a child of a frozen group is frozen");
      await cg.thaw(base);
      assert.equal(cg.state(base), "thawed");
      assert.deepEqual(cg.pids(base), [child.pid]);
      await cg.kill(base);
      assert.deepEqual(cg.pids(base), []);
      assert.match(read(`${cg.root}/${base}/cgroup.events`), /populated 0/);
      assert.equal((await child.output()).signal, "SIGKILL");
    });
    assert.equal(read(`${layout!.v2Root}/cgroup.subtree_control`), subtree, "root left as it was");
  },
  [],
);

rootTest("cgroupDirFd: clone3(CLONE_INTO_CGROUP) starts a child in the group", async () => {
  if (!hasUnified) return;
  const cg = openCgroups();
  await withGroup(cg, "clone", async (base) => {
    cg.create(base);
    const fd = cg.cgroupDirFd(base)!;
    const b = new ProgramBuilder();
    const ts = new BigInt64Array([1000n, 0n]); // struct timespec { 1000 s }
    b.syscall("nanosleep", [new Uint8Array(ts.buffer), null]);
    let child;
    try {
      child = spawn({ program: encodeProgram(b.ops, -1, -1), flags: 0n, cgroupFd: fd });
    } finally {
      sysRaw("close", [fd]);
    }
    try {
      assert.equal(child.inCgroup, true);
      const entries = parseProcCgroup(Deno.readTextFileSync(`/proc/${child.pid}/cgroup`));
      assert.equal(procCgroupPath(entries, ""), `/${base}`);
      assert.deepEqual(cg.pids(base), [child.pid]);
      await cg.kill(base);
    } finally {
      const info = new Uint8Array(128);
      sys("waitid", [P_PIDFD, child.pidfd, info, WEXITED, 0]);
      sysRaw("close", [child.pidfd]);
    }
  });
}, []);

rootTest(
  "BPF device filter on a unified group: deny /dev/null reads, allow /dev/zero",
  async () => {
    if (!hasUnified) return;
    const cg = new V2Driver({ root: layout!.v2Root!, alwaysEnable: [] });
    await withGroup(cg, "bpf", async (base) => {
      cg.create(base);
      const dir = cg.dir(base);
      applyDeviceRules(dir, DOCKER_DEFAULT_DEVICE_RULES);
      applyDeviceRules(dir, [
        { allow: true, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: 3, access: "r" },
      ]);
      const progs = attachedDevicePrograms(dir);
      assert.deepEqual(progs.map((p) => p.name), ["tsbox_devices"], "the earlier filter is gone");
      const child = startScript(
        "cat /dev/null; echo null=$?; echo hi > /dev/null; echo wnull=$?; head -c 3 /dev/zero | wc -c",
      );
      cg.addProcess(base, child.pid);
      await child.go();
      const out = await child.output();
      assert.equal(out.stdout, "null=1\nwnull=0\n3\n");
      assert.match(out.stderr, /cat: \/dev\/null: Operation not permitted/);

      // Docker's defaults: /dev/null and /dev/zero yes, /dev/kmsg (c 1:11) no.
      applyDeviceRules(dir, DOCKER_DEFAULT_DEVICE_RULES);
      const c2 = startScript(
        "cat /dev/null && echo null=ok; head -c 1 /dev/zero | wc -c; (: < /dev/kmsg); echo kmsg=$?",
      );
      cg.addProcess(base, c2.pid);
      await c2.go();
      const out2 = await c2.output();
      assert.match(out2.stdout, /^null=ok\n1\nkmsg=[1-9]\n$/);
      assert.match(out2.stderr, /\/dev\/kmsg: Operation not permitted/);
    });
  },
  [],
);

rootTest("pure v2: limits in v2 files, stats, device filter, kill and remove", async () => {
  const cg = openCgroups();
  assert.equal(cg.mode, "unified");
  const v2 = cg as V2Driver;
  await withGroup(cg, "purev2", async (base) => {
    const path = `${base}/c1`;
    cg.create(path, {
      memory: { limit: 64 * MiB, reservation: 16 * MiB },
      pids: { limit: 10 },
      cpu: { shares: 1024, quota: 50000, period: 100000 },
      devices: [...DOCKER_DEFAULT_DEVICE_RULES],
    });
    const dir = v2.dir(path);
    assert.equal(read(`${dir}/memory.max`), String(64 * MiB));
    assert.equal(read(`${dir}/memory.low`), String(16 * MiB));
    assert.equal(read(`${dir}/pids.max`), "10");
    assert.equal(read(`${dir}/cpu.max`), "50000 100000");
    assert.equal(read(`${dir}/cpu.weight`), "39");
    assert.deepEqual(attachedDevicePrograms(dir).map((p) => p.name), ["tsbox_devices"]);
    for (const ctl of ["cpu", "memory", "pids"]) {
      assert.ok(read(`${v2.dir(base)}/cgroup.subtree_control`).split(" ").includes(ctl), ctl);
    }
    const child = startScript("cat /dev/null && echo null=ok; (: < /dev/kmsg); exec sleep 1000");
    cg.addProcess(path, child.pid);
    await child.go();
    await new Promise((r) => setTimeout(r, 200));
    const stats = cg.stats(path);
    assert.equal(stats.pids.limit, 10);
    assert.equal(stats.memory.limit, 64 * MiB);
    assert.ok(stats.cpu.usageNs > 0);
    await cg.freeze(base);
    assert.equal(cg.state(path), "frozen");
    await cg.kill(base);
    const out = await child.output();
    assert.equal(out.signal, "SIGKILL");
    assert.equal(out.stdout, "null=ok\n");
    assert.match(out.stderr, /\/dev\/kmsg: Operation not permitted/);
    assert.throws(
      () => cg.apply(path, { network: { classID: 1 } }),
      /net_cls is a cgroup v1 controller; this host uses cgroup v2/,
    );
    cg.create(`${base}/n`, { cpu: { cpus: "0" } });
    assert.equal(read(`${v2.dir(`${base}/n`)}/cpuset.cpus.effective`), "0");
    const io = { throttleReadBpsDevice: [{ major: 259, minor: 4095, rate: 1 }] };
    assert.throws(
      () => cg.apply(path, { blockIO: io }),
      (e: unknown) =>
        formatError(e) ===
          `set io limits of cgroup "${path}": write "${dir}/io.max": ENODEV (No such device)`,
    );
  });
}, ["cgroup2"]);

rootTest("no tsbox-test-* group is left under /sys/fs/cgroup, no fd leaked", () => {
  const left = testDirs().filter((d) => !dirsBefore.includes(d));
  assert.deepEqual(left, []);
  assert.deepEqual(dirsBefore.filter((d) => d.includes(RUN)), []);
  const fds = fdList();
  assert.deepEqual(fds.filter((f) => !fdsBefore.includes(f)), []);
  return Promise.resolve();
}, []);
