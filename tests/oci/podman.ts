// A private Podman for the OCI tests and benchmarks (tests/oci_podman_test.ts,
// scripts/bench-oci.ts): storage, run state and config under a scratch
// directory, run inside a network namespace the caller's test made
// (nsenter --net), with `--runtime` the runtime under test (or runc).
// containers.conf lowers the default NOFILE/NPROC limits Podman asks for as
// root (1048576): raising a hard limit needs CAP_SYS_RESOURCE, which some
// hosts (this CI's VM) withhold even from root. runc fails there the same way.

import assert from "node:assert/strict";
import { busyboxTarball, host, type RunResult } from "../lib/harness.ts";
import { TestNetns } from "../lib/netns.ts";
import { removeEmptyCgroup, RUNTIME } from "./lib.ts";

/** A private Podman: storage, run state and config under `dir`, inside namespace `ns`. */
export class Podman {
  /** The OCI runtime `run` gives `podman --runtime` (default: the one under test). */
  runtime = RUNTIME;

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
      this.runtime,
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

export async function withPodman(dir: string, fn: (p: Podman) => Promise<void>): Promise<void> {
  const p = await Podman.make(dir);
  try {
    await fn(p);
  } finally {
    await p.cleanup();
  }
}
