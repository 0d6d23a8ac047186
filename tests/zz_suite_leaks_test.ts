// Runs last (files run in name order): after the whole suite, nothing the
// suite made is left on the host — no test state roots, supervisors,
// container processes, cgroups, network namespaces, links, nftables rules or
// mounts. Only what the suite made is judged (tests/lib/harness.ts records
// every root it made and what that root owned): a user's own tsbox (its
// tsbox0 bridge and `ip tsbox` table in the host's namespace, its
// containers) and other engineers' containers on this machine are not the
// suite's, and are neither judged nor touched.

import assert from "node:assert/strict";
import {
  forgetSuite,
  host,
  hostTsboxNetworking,
  isOwned,
  requires,
  suiteMade,
} from "./lib/harness.ts";

function cmdlines(): { pid: number; cmd: string; env: string; cgroup: string }[] {
  const out: { pid: number; cmd: string; env: string; cgroup: string }[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      out.push({
        pid: Number(e.name),
        cmd: Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " "),
        env: Deno.readTextFileSync(`/proc/${e.name}/environ`),
        cgroup: Deno.readTextFileSync(`/proc/${e.name}/cgroup`),
      });
    } catch { /* gone */ }
  }
  return out;
}

function dirNames(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name);
  } catch {
    return [];
  }
}

Deno.test({
  name: "the suite left nothing behind",
  ...requires("root"),
  async fn() {
    const made = suiteMade();
    const roots = new Set(made.roots);
    // Supervisors exit a couple of seconds after their last container.
    let supervisors: string[] = [];
    for (let i = 0; i < 50; i++) {
      supervisors = cmdlines().filter((p) =>
        p.cmd.includes(" supervise") &&
        p.env.split("\0").some((v) => v.startsWith("TSBOX_ROOT=") && roots.has(v.slice(11)))
      ).map((p) => `${p.pid} ${p.cmd}`);
      if (!supervisors.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(supervisors, [], "supervisors of the suite's state roots");
    assert.deepEqual(
      made.roots.filter((r) => dirNames("/tmp").includes(r.slice(5))),
      [],
      "the suite's state roots",
    );
    // Scratch directories of cgroup tests (bind-mounted at /out) made since the suite began.
    assert.deepEqual(
      dirNames("/tmp").filter((n) => {
        if (!n.startsWith("tsbox-cgtest-")) return false;
        try {
          return (Deno.statSync(`/tmp/${n}`).birthtime?.getTime() ?? 0) >= made.start - 1000;
        } catch {
          return false;
        }
      }),
      [],
      "scratch directories of the suite",
    );
    const ownPidNs = Deno.readLinkSync("/proc/self/ns/pid");
    const contained = cmdlines().filter((p) => {
      try {
        return Deno.readLinkSync(`/proc/${p.pid}/ns/pid`) !== ownPidNs &&
          isOwned(p.cgroup, made);
      } catch {
        return false;
      }
    }).map((p) => `${p.pid} ${p.cmd}`);
    assert.deepEqual(contained, [], "processes of the suite's containers");
    const cgroups: string[] = [];
    for (const h of dirNames("/sys/fs/cgroup")) {
      for (const e of dirNames(`/sys/fs/cgroup/${h}/tsbox`)) {
        const path = `/sys/fs/cgroup/${h}/tsbox/${e}`;
        if (isOwned(path, made)) cgroups.push(path);
      }
    }
    assert.deepEqual(cgroups, [], "the suite's cgroups");
    assert.deepEqual(
      dirNames("/run/netns").filter((n) => made.netns.includes(n)),
      [],
      "the suite's network namespaces",
    );
    assert.deepEqual(
      dirNames("/sys/class/net").filter((n) => isOwned(n, made)),
      [],
      "links of the suite's containers and networks in the host's namespace",
    );
    const rules = await host("nft", ["list", "ruleset"], { check: false });
    assert.deepEqual(
      rules.stdout.split("\n").map((l) => l.trim()).filter((l) => isOwned(l, made)),
      [],
      "nftables rules of the suite's containers and networks",
    );
    assert.deepEqual(
      Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter((l) => isOwned(l, made)),
      [],
      "mounts",
    );
    assert.equal(
      hostTsboxNetworking(),
      made.hostNetworking,
      "the host's own tsbox networking is as it was when the suite began",
    );
    forgetSuite();
  },
});
