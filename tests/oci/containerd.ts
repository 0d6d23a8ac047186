// A containerd of the OCI tests' own (tests/oci_containerd_test.ts,
// oci_cri_test.ts, scripts/bench-oci.ts): private root, state, socket and
// config under a scratch dir, started inside a network namespace the test
// made (nsenter --net), so whatever it or its plugins make (the CRI plugin's
// pod network: bridge, veths, routes) lives there, never in the machine's own.

import assert from "node:assert/strict";
import { busyboxTarball, host, type RunResult } from "../lib/harness.ts";
import { TestNetns } from "../lib/netns.ts";
import { removeEmptyCgroup, RUNTIME } from "./lib.ts";

/** A containerd of the test's own. */
export class Containerd {
  #proc: Deno.ChildProcess | undefined;
  readonly ids = new Set<string>();
  constructor(readonly dir: string, readonly ns: TestNetns) {}

  get socket(): string {
    return `${this.dir}/c.sock`;
  }

  /**
   * Starts containerd on `scratch`/containerd. `extra` is more of its
   * config.toml; without it the CRI plugin is off.
   */
  static async start(
    scratch: string,
    extra?: string,
    opts: { loopbackUp?: boolean } = {},
  ): Promise<Containerd> {
    const ns = await TestNetns.create("ctrd");
    // The CRI plugin's stream server listens on 127.0.0.1 of this namespace.
    if (opts.loopbackUp) await ns.run(["ip", "link", "set", "lo", "up"]);
    const c = new Containerd(`${scratch}/containerd`, ns);
    await Deno.mkdir(`${c.dir}/rootfs`, { recursive: true });
    await host("tar", ["-xf", await busyboxTarball(), "-C", `${c.dir}/rootfs`]);
    await Deno.writeTextFile(
      `${c.dir}/config.toml`,
      [
        "version = 2",
        `root = "${c.dir}/root"`,
        `state = "${c.dir}/state"`,
        ...(extra === undefined ? ['disabled_plugins = ["io.containerd.grpc.v1.cri"]'] : []),
        "[grpc]",
        `  address = "${c.socket}"`,
        "[ttrpc]",
        `  address = "${c.socket}.ttrpc"`,
        "[debug]",
        `  address = "${c.dir}/debug.sock"`,
        extra ?? "",
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

  /** `ctr run` with tsbox-runc (or runc, or `runtime`) on the test's root directory; PATH is set (no image config). */
  runArgs(id: string, flags: string[], cmd: string[], runtime = RUNTIME): string[] {
    this.ids.add(id);
    return [
      "run",
      ...flags,
      "--rootfs",
      "--runc-binary",
      runtime,
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
    // What a failed test may leave mounted under the scratch dir (snapshots, pod netns).
    const mounts = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n")
      .map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(`${this.dir}/`)).reverse();
    for (const m of mounts) await host("umount", ["-l", m], { check: false });
    removeEmptyCgroup("default"); // ctr's parent group ("/default/<id>")
    await this.ns.delete();
  }
}

export async function withContainerd(
  dir: string,
  fn: (c: Containerd) => Promise<void>,
  extra?: string,
): Promise<void> {
  const c = await Containerd.start(dir, extra);
  try {
    await fn(c);
  } finally {
    await c.stop();
  }
}

/**
 * Whether containerd 1.6 can load a task's cgroup here, so that `ctr task metrics` and CRI
 * ContainerStats have figures: cgroup v2 only, or every v1 hierarchy in /proc/self/cgroup
 * mounted. Its runc shim reads the cgroup itself (it never runs the runtime's `events
 * --stats`); a hierarchy that exists but is not mounted (net_cls on the development VM) fails
 * its loader, "cgroups: cannot find cgroup mount destination", with runc as with tsbox-runc.
 */
export function containerdLoadsCgroups(): boolean {
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
