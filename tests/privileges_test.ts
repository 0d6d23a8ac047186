// Docker's default privileges: capabilities, masked and read-only paths,
// no-new-privileges, the default seccomp profile, rlimits within what the
// host allows.

import assert from "node:assert/strict";
import { rootTest, tsbox } from "./lib/harness.ts";

const run = (root: string, ...args: string[]) =>
  tsbox(["run", "--rm", "--network", "none", ...args], { root });

function caps(status: string): Record<string, bigint> {
  return Object.fromEntries(
    [...status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)].map((m) => [m[1], BigInt(`0x${m[2]}`)]),
  );
}

/** Docker's 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
const DOCKER = 0xa80425fbn;

rootTest("default capabilities are Docker's 14, ambient and inheritable empty", async (root) => {
  const c = caps((await run(root, "busybox", "cat", "/proc/self/status")).stdout);
  assert.equal(c.CapBnd, DOCKER);
  assert.equal(c.CapEff, DOCKER);
  assert.equal(c.CapPrm, DOCKER);
  assert.equal(c.CapInh, 0n);
  assert.equal(c.CapAmb, 0n);
});

rootTest("--cap-add, --cap-drop and --privileged change the sets", async (root) => {
  const c1 = caps(
    (await run(
      root,
      "--cap-drop",
      "NET_RAW",
      "--cap-add",
      "net_admin",
      "busybox",
      "cat",
      "/proc/self/status",
    )).stdout,
  );
  assert.equal(c1.CapBnd, (DOCKER & ~(1n << 13n)) | (1n << 12n));
  const c2 = caps(
    (await run(
      root,
      "--cap-drop",
      "ALL",
      "--cap-add",
      "CHOWN",
      "busybox",
      "cat",
      "/proc/self/status",
    )).stdout,
  );
  assert.equal(c2.CapEff, 1n);
  const host = caps(Deno.readTextFileSync("/proc/self/status"));
  const c3 = caps((await run(root, "--privileged", "busybox", "cat", "/proc/self/status")).stdout);
  assert.equal(c3.CapBnd, host.CapBnd);
  const r = await run(root, "--cap-add", "NOT_A_CAP", "busybox", "true");
  assert.equal(r.code, 125);
  assert.match(r.stderr, /invalid capability for --cap-add: "NOT_A_CAP"/);
});

rootTest("a non-root user gets no effective capabilities", async (root) => {
  const c = caps(
    (await run(root, "-u", "1000:1000", "busybox", "cat", "/proc/self/status")).stdout,
  );
  assert.equal(c.CapEff, 0n);
  assert.equal(c.CapBnd, DOCKER);
});

rootTest("masked paths are empty and read-only paths refuse writes", async (root) => {
  const r = await run(
    root,
    "busybox",
    "sh",
    "-c",
    [
      "wc -c < /proc/keys",
      "wc -c < /proc/timer_list",
      "ls /sys/firmware | wc -l",
      "(echo 1 > /proc/sys/vm/drop_caches) 2>&1 | grep -o 'Read-only file system'",
      "test -e /proc/sysrq-trigger && (echo h > /proc/sysrq-trigger) 2>&1 | grep -o 'Read-only file system' || echo absent-here",
    ].join("; "),
  );
  assert.deepEqual(r.stdout.trim().split("\n").slice(0, 4), [
    "0",
    "0",
    "0",
    "Read-only file system",
  ]);
  assert.match(r.stdout.trim().split("\n")[4]!, /Read-only file system|absent-here/);
  const p = await run(root, "--privileged", "busybox", "sh", "-c", "ls /sys/firmware | wc -l");
  assert.notEqual(p.stdout.trim(), "0", "--privileged unmasks");
});

rootTest("--security-opt no-new-privileges sets NoNewPrivs", async (root) => {
  const on = await run(
    root,
    "--security-opt",
    "no-new-privileges",
    "busybox",
    "grep",
    "NoNewPrivs",
    "/proc/self/status",
  );
  assert.match(on.stdout, /NoNewPrivs:\s+1/);
  const off = await run(root, "busybox", "grep", "NoNewPrivs", "/proc/self/status");
  assert.match(off.stdout, /NoNewPrivs:\s+0/);
});

rootTest(
  "the default seccomp profile refuses new user namespaces, also to exec; unconfined and --privileged lift it",
  async (root) => {
    const probe =
      "grep -E '^Seccomp(_filters)?:' /proc/self/status; unshare -U true 2>&1; echo rc=$?";
    const def = await run(root, "busybox", "sh", "-c", probe);
    assert.match(def.stdout, /Seccomp:\s+2\nSeccomp_filters:\s+1\n/);
    assert.match(def.stdout, /Operation not permitted\nrc=1/);
    for (const lift of [["--security-opt", "seccomp=unconfined"], ["--privileged"]]) {
      const r = await run(root, ...lift, "busybox", "sh", "-c", probe);
      assert.match(r.stdout, /Seccomp:\s+0\n/, lift.join(" "));
      assert.match(r.stdout, /rc=0/, lift.join(" "));
    }
    // A capability unlocks what Docker's profile unlocks with it.
    const admin = await run(
      root,
      "--cap-add",
      "SYS_ADMIN",
      "busybox",
      "sh",
      "-c",
      "unshare -m true; echo rc=$?",
    );
    assert.match(admin.stdout, /rc=0/);
    // exec'd processes run under the container's filter.
    await tsbox(["run", "-d", "--network", "none", "--name", "sc", "busybox", "sleep", "60"], {
      root,
      expect: 0,
    });
    const ex = await tsbox(["exec", "sc", "sh", "-c", probe], { root, expect: 0 });
    assert.match(ex.stdout, /Seccomp:\s+2\n/);
    assert.match(ex.stdout, /rc=1/);
    await tsbox(["rm", "-f", "sc"], { root, expect: 0 });
    const bad = await run(root, "--security-opt", "seccomp=/no/such.json", "busybox", "true");
    assert.equal(bad.code, 125);
    assert.match(
      bad.stderr,
      /invalid --security-opt: "seccomp=\/no\/such.json" \(supported: no-new-privileges, seccomp=unconfined\)/,
    );
  },
);

rootTest(
  "rlimits: --ulimit applies, and a hard limit above the host's is a clear error",
  async (root) => {
    const r = await run(
      root,
      "--ulimit",
      "nofile=100:200",
      "busybox",
      "sh",
      "-c",
      "ulimit -Sn; ulimit -Hn",
    );
    assert.equal(r.stdout, "100\n200\n");
    const d = await run(root, "busybox", "sh", "-c", "ulimit -Sn");
    assert.equal(d.stdout.trim(), "1024", "Docker's default soft limit");
    const hostHard = Number(
      Deno.readTextFileSync("/proc/self/limits").match(/Max open files\s+\d+\s+(\d+)/)![1],
    );
    const bad = await run(root, "--ulimit", `nofile=${hostHard + 1}`, "busybox", "true");
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /ulimit nofile: hard limit \d+ exceeds the host's hard limit/);
    const ps = await tsbox(["ps", "-aq"], { root, expect: 0 });
    assert.equal(ps.stdout, "", "nothing was created");
  },
);

rootTest("--sysctl sets namespaced kernel parameters and refuses host-wide ones", async (root) => {
  const r = await run(
    root,
    "--sysctl",
    "net.ipv4.ip_forward=1",
    "--sysctl",
    "kernel.shmmni=100",
    "busybox",
    "sh",
    "-c",
    "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni",
  );
  assert.equal(r.stdout, "1\n100\n");
  const bad = await run(root, "--sysctl", "kernel.panic=1", "busybox", "true");
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /sysctl "kernel.panic" is not allowed/);
});
