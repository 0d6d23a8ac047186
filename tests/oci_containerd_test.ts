// tsbox-runc under containerd's runc shim (io.containerd.runc.v2), driven
// with `ctr run --runc-binary`. The test starts its own containerd on a
// private root, state and socket under its scratch dir (the CRI plugin off),
// inside a network namespace it made; containers get a root directory
// (`ctr run --rootfs`), so no image is pulled.

import assert from "node:assert/strict";
import { busyboxTarball, host, type RunResult } from "./lib/harness.ts";
import { TestNetns } from "./lib/netns.ts";
import { ociTest, removeEmptyCgroup, RUNTIME } from "./oci/lib.ts";

/** A containerd of the test's own. */
class Containerd {
  #proc: Deno.ChildProcess | undefined;
  readonly ids = new Set<string>();
  constructor(readonly dir: string, readonly ns: TestNetns) {}

  get socket(): string {
    return `${this.dir}/c.sock`;
  }

  static async start(scratch: string): Promise<Containerd> {
    const ns = await TestNetns.create("ctrd");
    const c = new Containerd(`${scratch}/containerd`, ns);
    await Deno.mkdir(`${c.dir}/rootfs`, { recursive: true });
    await host("tar", ["-xf", await busyboxTarball(), "-C", `${c.dir}/rootfs`]);
    await Deno.writeTextFile(
      `${c.dir}/config.toml`,
      [
        "version = 2",
        `root = "${c.dir}/root"`,
        `state = "${c.dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        `  address = "${c.socket}"`,
        "[ttrpc]",
        `  address = "${c.socket}.ttrpc"`,
        "[debug]",
        `  address = "${c.dir}/debug.sock"`,
        "",
      ].join("\n"),
    );
    c.#proc = new Deno.Command("nsenter", {
      args: [`--net=${ns.path}`, "containerd", "--config", `${c.dir}/config.toml`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 100; i++) {
      if ((await c.ctr(["version"])).code === 0) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    await c.stop();
    throw new Error("containerd did not start");
  }

  /** `ctr --address SOCKET ARGS`; `tty` runs it under script(1). */
  ctr(args: string[], opts: { tty?: boolean } = {}): Promise<RunResult> {
    const cmd = ["ctr", "--address", this.socket, ...args];
    if (opts.tty) {
      const quoted = cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
      return host("script", ["-qec", quoted, "/dev/null"], { check: false });
    }
    return host(cmd[0]!, cmd.slice(1), { check: false });
  }

  async ok(args: string[]): Promise<string> {
    const r = await this.ctr(args);
    assert.equal(r.code, 0, `ctr ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  /** `ctr run` with tsbox-runc (or runc) on the test's root directory; PATH is set (no image config). */
  runArgs(id: string, flags: string[], cmd: string[]): string[] {
    this.ids.add(id);
    return [
      "run",
      ...flags,
      "--rootfs",
      "--runc-binary",
      RUNTIME,
      "--env",
      "PATH=/bin:/usr/bin",
      `${this.dir}/rootfs`,
      id,
      ...cmd,
    ];
  }

  /** Deletes every task and container it made, stops containerd, deletes the namespace. */
  async stop(): Promise<void> {
    for (const id of this.ids) {
      await this.ctr(["task", "kill", "-s", "SIGKILL", id]);
      for (let i = 0; i < 20; i++) {
        if ((await this.ctr(["task", "delete", id])).code !== 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await this.ctr(["container", "delete", id]);
    }
    if (this.#proc) {
      this.#proc.kill("SIGTERM");
      await this.#proc.status;
    }
    // Shims outlive containerd only while they have tasks; none is left, but be sure.
    const shims = await host("pgrep", ["-f", `containerd-shim-runc-v2.*${this.socket}`], {
      check: false,
    });
    for (const pid of shims.stdout.split("\n").filter(Boolean)) {
      await host("kill", ["-9", pid], { check: false });
    }
    for (const id of this.ids) {
      await Deno.remove(`/run/containerd/runc/default/${id}`, { recursive: true }).catch(() => {});
    }
    removeEmptyCgroup("default"); // ctr's parent group ("/default/<id>")
    await this.ns.delete();
  }
}

async function withContainerd(dir: string, fn: (c: Containerd) => Promise<void>): Promise<void> {
  const c = await Containerd.start(dir);
  try {
    await fn(c);
  } finally {
    await c.stop();
  }
}

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
