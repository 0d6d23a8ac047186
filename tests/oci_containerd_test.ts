// tsbox-runc under containerd's runc shim (io.containerd.runc.v2), driven
// with `ctr run --runc-binary`. The test starts its own containerd on a
// private root, state and socket under its scratch dir (the CRI plugin off),
// inside a network namespace it made; containers get a root directory
// (`ctr run --rootfs`), so no image is pulled.

import assert from "node:assert/strict";
import { withContainerd } from "./oci/containerd.ts";
import { ociTest } from "./oci/lib.ts";

/** Whether containerd can read cgroup v1 stats here: every hierarchy in /proc/self/cgroup is mounted. */
function v1StatsReadable(): boolean {
  try {
    Deno.statSync("/sys/fs/cgroup/cgroup.controllers");
    return true; // cgroup v2 only
  } catch { /* v1 or hybrid */ }
  const mounted = Deno.readTextFileSync("/proc/self/mountinfo");
  return Deno.readTextFileSync("/proc/self/cgroup").split("\n").filter(Boolean).every((l) => {
    const [idx, ctl] = l.split(":");
    if (idx === "0") return true;
    return ctl!.split(",").every((c) => mounted.includes(c.replace(/^name=/, "")));
  });
}

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
    if (v1StatsReadable()) {
      assert.match(await c.ok(["task", "metrics", "t2"]), /memory/);
    } else {
      console.error(
        "skipped metrics: a cgroup v1 hierarchy here is not mounted (containerd cannot load it)",
      );
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
