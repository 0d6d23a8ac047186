// Runs last (files run in name order): after the whole suite, nothing of
// tsbox is left on the host — no test state roots, supervisors, container
// processes, cgroups, network namespaces, links or nftables tables.

import assert from "node:assert/strict";
import { host, requires } from "./lib/harness.ts";

function cmdlines(): { pid: number; cmd: string; env: string }[] {
  const out: { pid: number; cmd: string; env: string }[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      out.push({
        pid: Number(e.name),
        cmd: Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " "),
        env: Deno.readTextFileSync(`/proc/${e.name}/environ`),
      });
    } catch { /* gone */ }
  }
  return out;
}

Deno.test({
  name: "the suite left nothing behind",
  ...requires("root"),
  async fn() {
    // Supervisors exit a couple of seconds after their last container.
    let supervisors: string[] = [];
    for (let i = 0; i < 50; i++) {
      supervisors = cmdlines().filter((p) =>
        p.cmd.includes(" supervise") && p.env.includes("TSBOX_ROOT=/tmp/tsbox-test-")
      )
        .map((p) => `${p.pid} ${p.cmd}`);
      if (!supervisors.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(supervisors, [], "supervisors of test state roots");
    const roots = [...Deno.readDirSync("/tmp")].filter((e) => /^tsbox-(test|cgtest)-/.test(e.name))
      .map(
        (e) => e.name,
      );
    assert.deepEqual(roots, [], "test state roots and scratch directories");
    const ownPidNs = Deno.readLinkSync("/proc/self/ns/pid");
    const contained = cmdlines().filter((p) => {
      try {
        return Deno.readLinkSync(`/proc/${p.pid}/ns/pid`) !== ownPidNs;
      } catch {
        return false;
      }
    }).map((p) => `${p.pid} ${p.cmd}`);
    assert.deepEqual(contained, [], "processes in other PID namespaces (containers)");
    const cgroups: string[] = [];
    for (const h of Deno.readDirSync("/sys/fs/cgroup")) {
      try {
        for (const e of Deno.readDirSync(`/sys/fs/cgroup/${h.name}/tsbox`)) {
          if (e.isDirectory) cgroups.push(`${h.name}/tsbox/${e.name}`);
        }
      } catch { /* none */ }
    }
    assert.deepEqual(cgroups, [], "container cgroups");
    const netns = (() => {
      try {
        return [...Deno.readDirSync("/run/netns")].map((e) => e.name).filter((n) =>
          n.startsWith("tsbox")
        );
      } catch {
        return [];
      }
    })();
    assert.deepEqual(netns, [], "test network namespaces");
    const links = [...Deno.readDirSync("/sys/class/net")].map((e) => e.name).filter((n) =>
      /^(veth|tsbox)/.test(n)
    );
    assert.deepEqual(links, [], "links in the host's namespace");
    const tables = await host("nft", ["list", "tables"], { check: false });
    assert.doesNotMatch(tables.stdout, /tsbox/, "nftables tables");
    assert.doesNotMatch(Deno.readTextFileSync("/proc/self/mountinfo"), /tsbox/, "mounts");
  },
});
