// tsbox-runc under containerd's runc shim (io.containerd.runc.v2), driven
// with `ctr run --runc-binary`. The test starts its own containerd on a
// private root, state and socket under its scratch dir (the CRI plugin off),
// inside a network namespace it made; containers get a root directory
// (`ctr run --rootfs`), so no image is pulled.

import assert from "node:assert/strict";
import { containerdLoadsCgroups, withContainerd } from "./oci/containerd.ts";
import { ociTest } from "./oci/lib.ts";

ociTest("ctr run: output and exit status through the runc shim", async (ctx) => {
  await withContainerd(ctx.dir, async (c) => {
    const r = await c.ctr(
      c.runArgs("t1", ["--rm"], ["sh", "-c", "echo hi from containerd; exit 3"]),
    );
    assert.equal(r.stdout, "hi from containerd\n");
    assert.equal(r.code, 3, r.stderr);
    c.ids.delete("t1");
  });
}, { needs: ["containerd"] });

ociTest("ctr: run -d, exec, pause/resume, metrics, ps, kill, delete", async (ctx) => {
  await withContainerd(ctx.dir, async (c) => {
    await c.ok(c.runArgs("t2", ["-d"], ["sleep", "1000"]));
    assert.equal(
      await c.ok([
        "task",
        "exec",
        "--exec-id",
        "e1",
        "t2",
        "sh",
        "-c",
        "echo in-exec; cat /proc/1/cmdline",
      ]),
      "in-exec\nsleep\x001000\x00",
    );
    await c.ok(["task", "pause", "t2"]);
    assert.match(await c.ok(["task", "ls"]), /t2\s+\d+\s+PAUSED/);
    await c.ok(["task", "resume", "t2"]);
    assert.match(await c.ok(["task", "ls"]), /t2\s+\d+\s+RUNNING/);
    const pid = Number(/t2\s+(\d+)/.exec(await c.ok(["task", "ls"]))![1]);
    assert.match(await c.ok(["task", "ps", "t2"]), new RegExp(`^${pid}\\b`, "m"));
    // The shim reads the task's cgroup itself (containerdLoadsCgroups).
    const metrics = await c.ctr(["task", "metrics", "t2"]);
    if (containerdLoadsCgroups()) {
      assert.equal(metrics.code, 0, metrics.stderr);
      assert.match(metrics.stdout, /pids\.current\s+1\b/, metrics.stdout);
    } else {
      assert.match(metrics.stderr, /no metrics received/, "the host's limit, as with runc");
      console.error("metrics: containerd cannot load a cgroup on this host (as with runc)");
    }
    await c.ok(["task", "kill", "-s", "SIGKILL", "t2"]);
    for (let i = 0; i < 50 && !/STOPPED/.test(await c.ok(["task", "ls"])); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(await c.ok(["task", "ls"]), /t2\s+\d+\s+STOPPED/);
    await c.ok(["task", "delete", "t2"]);
    await c.ok(["container", "delete", "t2"]);
    c.ids.delete("t2");
  });
}, { needs: ["containerd"] });

ociTest("ctr run -t: a TTY task through the console socket", async (ctx) => {
  await withContainerd(ctx.dir, async (c) => {
    const r = await c.ctr(c.runArgs("t3", ["--rm", "-t"], ["sh", "-c", "tty; echo tty-ok"]), {
      tty: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/0\r*\ntty-ok/);
    c.ids.delete("t3");
  });
}, { needs: ["containerd"] });
