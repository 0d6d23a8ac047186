import assert from "node:assert/strict";
import { formatError } from "../errors.ts";
import { detectCgroups } from "./detect.ts";

const HYBRID = `22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 22 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

Deno.test("detectCgroups: hybrid host (v1 controllers plus cgroup2 at unified)", () => {
  const l = detectCgroups(HYBRID);
  assert.equal(l.mode, "hybrid");
  assert.equal(l.v2Root, "/sys/fs/cgroup/unified");
  assert.equal(l.v1.memory, "/sys/fs/cgroup/memory");
  assert.equal(l.v1.cpu, "/sys/fs/cgroup/cpu");
  assert.equal(l.v1.cpuacct, "/sys/fs/cgroup/cpuacct");
  assert.equal(l.v1.net_cls, undefined);
  assert.deepEqual(l.named, { systemd: "/sys/fs/cgroup/systemd" });
});

Deno.test("detectCgroups: pure v2 host", () => {
  const l = detectCgroups(
    "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
  );
  assert.deepEqual(l, { mode: "unified", v2Root: "/sys/fs/cgroup", v1: {}, named: {} });
});

Deno.test("detectCgroups: legacy host with co-mounted cpu,cpuacct and net_cls,net_prio", () => {
  const l = detectCgroups(
    [
      "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct",
      "31 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw shared:10 - cgroup cgroup rw,net_cls,net_prio",
      "32 25 0:28 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory",
    ].join("\n"),
  );
  assert.equal(l.mode, "legacy");
  assert.equal(l.v2Root, undefined);
  assert.equal(l.v1.cpu, "/sys/fs/cgroup/cpu,cpuacct");
  assert.equal(l.v1.cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
  assert.equal(l.v1.net_prio, "/sys/fs/cgroup/net_cls,net_prio");
});

Deno.test("detectCgroups: prefers a mount of the hierarchy root and decodes escapes", () => {
  const l = detectCgroups(
    [
      "50 40 0:32 /docker/x /mnt/in\\040ctr rw - cgroup cgroup rw,memory",
      "51 40 0:32 / /mnt/my\\040cgroups rw - cgroup cgroup rw,memory",
    ].join("\n"),
  );
  assert.equal(l.v1.memory, "/mnt/my cgroups");
});

Deno.test("detectCgroups: no cgroup mount (as inside `ip netns exec`) explains itself", () => {
  assert.throws(
    () => detectCgroups("22 1 0:50 / /sys rw,relatime - sysfs sysfs rw\n"),
    (e: unknown) => {
      const msg = formatError(e);
      assert.match(msg, /^no cgroup filesystem is mounted \(mount cgroup2 on \/sys\/fs\/cgroup\)/);
      assert.match(msg, /ip netns exec/);
      return true;
    },
  );
});

Deno.test("detectCgroups: reads /proc/self/mountinfo by default", () => {
  const l = detectCgroups();
  assert.ok(["legacy", "hybrid", "unified"].includes(l.mode));
});
