// tsbox-runc under a real caller: Podman (`podman --runtime`), through conmon.
// Podman's storage and run state live in a private directory under /tmp, it
// runs inside a network namespace this test made (nsenter --net), and its
// containers use `--network none` or a pod's own namespace: no bridge, no
// rule, nothing in the machine's network namespace.
// containers.conf lowers the default NOFILE/NPROC limits Podman asks for as
// root (1048576): raising a hard limit needs CAP_SYS_RESOURCE, which some
// hosts (this CI's VM) withhold even from root. runc fails there the same way.

import assert from "node:assert/strict";
import { busyboxTarball, host, type RunResult } from "./lib/harness.ts";
import { TestNetns } from "./lib/netns.ts";
import { ociTest, removeEmptyCgroup, RUNTIME } from "./oci/lib.ts";

/** A private Podman: storage, run state and config under `dir`, inside namespace `ns`. */
class Podman {
  constructor(readonly dir: string, readonly ns: TestNetns) {}

  static async make(dir: string): Promise<Podman> {
    const ns = await TestNetns.create("podman");
    const p = new Podman(`${dir}/podman`, ns);
    await Deno.mkdir(p.dir, { recursive: true });
    await Deno.writeTextFile(
      `${p.dir}/containers.conf`,
      '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n',
    );
    const r = await p.run(["import", await busyboxTarball(), "localhost/busybox"]);
    assert.equal(r.code, 0, r.stderr);
    return p;
  }

  /** `podman ARGS` as a subprocess; `tty` runs it under script(1) for -t. */
  async run(args: string[], opts: { tty?: boolean } = {}): Promise<RunResult> {
    const cmd = [
      "env",
      `CONTAINERS_CONF=${this.dir}/containers.conf`,
      "podman",
      "--root",
      `${this.dir}/root`,
      "--runroot",
      `${this.dir}/run`,
      "--cgroup-manager",
      "cgroupfs",
      "--events-backend",
      "file",
      "--runtime",
      RUNTIME,
      ...args,
    ];
    if (opts.tty) {
      const quoted = cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
      return await this.ns.run(["script", "-qec", quoted, "/dev/null"], {
        check: false,
        stdin: "",
      });
    }
    return await this.ns.run(cmd, { check: false });
  }

  async ok(args: string[]): Promise<string> {
    const r = await this.run(args);
    assert.equal(r.code, 0, `podman ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  /** Removes every container and pod, unmounts the storage, deletes the namespace. */
  async cleanup(): Promise<void> {
    await this.run(["pod", "rm", "-af"]);
    await this.run(["rm", "-af"]);
    await this.run(["system", "reset", "-f"]);
    const mounts = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n")
      .map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(this.dir)).reverse();
    for (const m of mounts) await host("umount", ["-l", m], { check: false });
    removeEmptyCgroup("libpod_parent");
    await this.ns.delete();
  }
}

async function withPodman(dir: string, fn: (p: Podman) => Promise<void>): Promise<void> {
  const p = await Podman.make(dir);
  try {
    await fn(p);
  } finally {
    await p.cleanup();
  }
}

const NONE = ["--network", "none"];

ociTest("podman run --rm: output and exit status", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    const r = await p.run([
      "run",
      "--rm",
      ...NONE,
      "localhost/busybox",
      "sh",
      "-c",
      "echo hi; exit 4",
    ]);
    assert.equal(r.stdout, "hi\n");
    assert.equal(r.code, 4);
    assert.equal((await p.ok(["ps", "-aq"])).trim(), "");
  });
}, { needs: ["podman"] });

ociTest("podman run -d, exec, top, stats, stop, rm", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    await p.ok(["run", "-d", ...NONE, "--name", "web", "localhost/busybox", "sleep", "1000"]);
    assert.equal(
      await p.ok(["exec", "web", "sh", "-c", "echo in-exec; hostname"]),
      `in-exec\n${(await p.ok(["inspect", "-f", "{{.Config.Hostname}}", "web"])).trim()}\n`,
    );
    assert.match(await p.ok(["top", "web"]), /sleep 1000/);
    const stats = JSON.parse(await p.ok(["stats", "--no-stream", "--format", "json", "web"]));
    assert.equal(stats[0].name, "web");
    assert.match(stats[0].mem_usage, /B \/ /);
    await p.ok(["stop", "-t", "1", "web"]);
    assert.match(await p.ok(["ps", "-a", "--format", "{{.Status}}"]), /Exited/);
    await p.ok(["rm", "web"]);
  });
}, { needs: ["podman"] });

ociTest("podman run -it: a terminal through the console socket", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    const r = await p.run([
      "run",
      "--rm",
      "-it",
      ...NONE,
      "localhost/busybox",
      "sh",
      "-c",
      "tty; echo tty-ok",
    ], {
      tty: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/0\r*\ntty-ok/);
  });
}, { needs: ["podman"] });

ociTest("podman --pod: two containers share the pod's network namespace", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    await p.ok(["pod", "create", "--name", "pod1", "--network", "none"]);
    await p.ok(["run", "-d", "--pod", "pod1", "--name", "a", "localhost/busybox", "sleep", "1000"]);
    const b = (await p.ok([
      "run",
      "--rm",
      "--pod",
      "pod1",
      "localhost/busybox",
      "readlink",
      "/proc/self/ns/net",
    ])).trim();
    const a = (await p.ok(["exec", "a", "readlink", "/proc/self/ns/net"])).trim();
    assert.equal(a, b);
    assert.notEqual(a, Deno.readLinkSync("/proc/self/ns/net"));
    await p.ok(["pod", "rm", "-f", "-t", "1", "pod1"]);
  });
}, { needs: ["podman"] });
