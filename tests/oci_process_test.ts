// OCI conformance: config.json's `process` (config.md "Process"), each field
// checked from inside the container with busybox or the checker program.

import assert from "node:assert/strict";
import { type Json, ociTest, runOk } from "./oci/lib.ts";

const caps = (names: string[]) => names;

ociTest("process.args, env and cwd", async (ctx) => {
  const out = await runOk(ctx, ["sh", "-c", 'echo "$0|$1|$FOO|$(pwd)"', "zero", "one"], (c) => {
    c.process.env.push("FOO=bar baz");
    c.process.cwd = "/tmp/work";
  });
  assert.equal(out, "zero|one|bar baz|/tmp/work\n");
});

ociTest("process.user: uid, gid, additionalGids, umask", async (ctx) => {
  const out = await runOk(ctx, ["sh", "-c", "/checker ids; /checker umask"], (c) => {
    c.process.user = { uid: 1000, gid: 1001, additionalGids: [5, 7], umask: 0o027 };
  });
  assert.equal(out, "uid=1000 gid=1001 groups=5,7\n0027\n");
});

ociTest("process.capabilities: every set, ambient raised for a non-root user", async (ctx) => {
  const set = caps(["CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_CHOWN"]);
  const out = await runOk(ctx, ["grep", "^Cap", "/proc/self/status"], (c: Json) => {
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.capabilities = {
      bounding: set,
      permitted: set,
      effective: set,
      inheritable: ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
      ambient: ["CAP_NET_BIND_SERVICE"],
    };
  });
  const get = (k: string) => BigInt("0x" + new RegExp(`${k}:\\s+([0-9a-f]+)`).exec(out)![1]);
  const bit = (n: number) => 1n << BigInt(n);
  const NBS = bit(10), KILL = bit(5), CHOWN = bit(0);
  assert.equal(get("CapBnd"), NBS | KILL | CHOWN);
  assert.equal(get("CapInh"), NBS | KILL);
  assert.equal(get("CapAmb"), NBS);
  // After execve as non-root, only the ambient set survives into permitted and effective.
  assert.equal(get("CapPrm"), NBS);
  assert.equal(get("CapEff"), NBS);
});

ociTest("process.rlimits", async (ctx) => {
  const out = await runOk(ctx, ["/checker", "rlimits"], (c) => {
    c.process.rlimits = [
      { type: "RLIMIT_NOFILE", soft: 512, hard: 2048 },
      { type: "RLIMIT_NPROC", soft: 300, hard: 400 },
      { type: "RLIMIT_CORE", soft: 0, hard: 0 },
      { type: "RLIMIT_MSGQUEUE", soft: 8192, hard: 16384 },
    ];
  });
  assert.match(out, /^RLIMIT_NOFILE 512 2048$/m);
  assert.match(out, /^RLIMIT_NPROC 300 400$/m);
  assert.match(out, /^RLIMIT_CORE 0 0$/m);
  assert.match(out, /^RLIMIT_MSGQUEUE 8192 16384$/m);
});

ociTest("process.noNewPrivileges true and false", async (ctx) => {
  assert.equal(
    await runOk(ctx, ["/checker", "nnp"], (c) => c.process.noNewPrivileges = true),
    "1\n",
  );
  assert.equal(
    await runOk(ctx, ["/checker", "nnp"], (c) => c.process.noNewPrivileges = false),
    "0\n",
  );
});

ociTest("process.oomScoreAdj", async (ctx) => {
  const out = await runOk(
    ctx,
    ["cat", "/proc/self/oom_score_adj"],
    (c) => c.process.oomScoreAdj = 517,
  );
  assert.equal(out, "517\n");
});

ociTest(
  "process.apparmorProfile and selinuxLabel are accepted on a host without them",
  async (ctx) => {
    const out = await runOk(ctx, ["echo", "ok"], (c) => {
      c.process.apparmorProfile = "tsbox-test-profile";
      c.process.selinuxLabel = "system_u:system_r:container_t:s0";
      c.linux.mountLabel = "system_u:object_r:container_file_t:s0";
    });
    assert.equal(out, "ok\n");
  },
  { tsboxOnly: "runc refuses SELinux labels where SELinux is off; tsbox ignores both labels" },
);

ociTest("no fd leaks into the container: only stdio", async (ctx) => {
  const out = await runOk(ctx, ["/checker", "fds"]);
  assert.equal(out.trim(), "0 1 2");
});
