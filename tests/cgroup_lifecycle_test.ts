// Root tests of the container's cgroup over its life: placement in every
// hierarchy before the first instruction, nothing left behind after init
// exits, pause/unpause (freezer) and stats on a running container, groups
// (--cgroup-parent) whose limits bind their containers, net_cls, and bad
// input refused before anything exists. Runs on this host (hybrid) and on a
// pure cgroup-v2 kernel (`deno task test:cgroup2`).

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { detectCgroups } from "../src/cgroups/detect.ts";
import { parseProcCgroup } from "../src/cgroups/proc.ts";
import { host, rootTest, tsbox } from "./lib/harness.ts";

const MiB = 1024 * 1024;
const layout = Deno.uid() === 0 ? detectCgroups() : undefined;
const inVm = (() => {
  try {
    return Deno.readTextFileSync("/proc/cmdline").includes("cgroup_no_v1=all");
  } catch {
    return false;
  }
})();
const RUN = ["run", "--network", "none"];

/** A foreground `tsbox run` in the background, with a host dir at /out; stops when /out/stop appears. */
async function background(root: string, name: string, flags: string[], loop: string) {
  const out = await Deno.makeTempDir({ prefix: "tsbox-cgtest-" });
  const script = `touch /out/ready\n${loop}\nwhile [ ! -f /out/stop ]; do sleep 0.05; done`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-all",
      new URL("../main.ts", import.meta.url).pathname,
      ...RUN,
      "--name",
      name,
      "-v",
      `${out}:/out`,
      ...flags,
      "busybox",
      "sh",
      "-c",
      script,
    ],
    env: { TSBOX_ROOT: root },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + (inVm ? 120_000 : 30_000);
  let exited = false;
  child.status.then(() => (exited = true));
  while (!(await Deno.stat(`${out}/ready`).catch(() => undefined))) {
    if (Date.now() > deadline || exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      const o = await child.output();
      await Deno.remove(out, { recursive: true });
      throw new Error(`container ${name} did not start: ${new TextDecoder().decode(o.stderr)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    out,
    /** Ends the loop and waits for `tsbox run` to return; its exit code. */
    stop: async () => {
      await Deno.writeTextFile(`${out}/stop`, "");
      const o = await child.output();
      await Deno.remove(out, { recursive: true });
      return { code: o.code, stderr: new TextDecoder().decode(o.stderr) };
    },
  };
}

/** The container's row in the state database. */
function row(root: string, name: string): Record<string, unknown> | undefined {
  const db = new DatabaseSync(`${root}/tsbox.db`, { readOnly: true });
  try {
    return db.prepare("SELECT * FROM containers WHERE name = ?").get(name) as
      | Record<string, unknown>
      | undefined;
  } finally {
    db.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

rootTest(
  "placement: init is in tsbox/<id> in every hierarchy; nothing outlives it",
  async (root) => {
    const c = await background(root, "placed", ["-m", "64m"], "true");
    try {
      const rec = row(root, "placed")!;
      const entries = parseProcCgroup(Deno.readTextFileSync(`/proc/${rec.pid}/cgroup`));
      const want = `/tsbox/${rec.id}`;
      const v2 = entries.find((e) => e.hierarchy === 0);
      if (layout!.v2Root) assert.equal(v2?.path, want);
      for (const ctl of Object.keys(layout!.v1)) {
        if (ctl === "net_cls" || ctl === "net_prio" || ctl === "perf_event") continue;
        const e = entries.find((x) => x.controllers.includes(ctl));
        assert.equal(e?.path, want, `${ctl} hierarchy`);
      }
      if (layout!.mode === "unified") {
        // Its own cgroup namespace, with cgroup2 mounted: the limit is visible inside.
        const inside = await tsbox(
          [
            "run",
            "--rm",
            "--network",
            "none",
            "-m",
            "64m",
            "busybox",
            "sh",
            "-c",
            "cat /proc/self/cgroup /sys/fs/cgroup/memory.max",
          ],
          { root, expect: 0 },
        );
        assert.deepEqual(inside.stdout.trim().split("\n"), ["0::/", String(64 * MiB)]);
      }
    } finally {
      assert.equal((await c.stop()).code, 0);
    }
    // --pid host: a background process would outlive init without the group kill.
    const r = await tsbox(
      [
        "run",
        "--rm",
        "--network",
        "none",
        "--pid",
        "host",
        "busybox",
        "sh",
        "-c",
        "sleep 1000 & echo $!",
      ],
      { root, expect: 0 },
    );
    const pid = Number(r.stdout.trim());
    assert.ok(pid > 0);
    const cmd = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    assert.ok(!cmd.startsWith("sleep"), `process ${pid} (${cmd}) outlived the container`);
  },
);

rootTest(
  "freezer: a counter stops while paused and resumes after unpause; ps and stats see it",
  async (root) => {
    const c = await background(
      root,
      "counter",
      ["-m", "48m", "--pids-limit", "20"],
      "(i=0; while [ ! -f /out/stop ]; do i=$((i+1)); echo $i > /out/count; sleep 0.02; done) &",
    );
    const count = async () => Number((await Deno.readTextFile(`${c.out}/count`)).trim() || "0");
    try {
      await sleep(300);
      await tsbox(["pause", "counter"], { root, expect: 0 });
      assert.match((await tsbox(["ps"], { root, expect: 0 })).stdout, /\(Paused\)\s+counter/);
      const a = await count();
      await sleep(inVm ? 1500 : 600);
      assert.equal(await count(), a, "the counter advanced while paused");
      const again = await tsbox(["pause", "counter"], { root });
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /container is paused/);
      await tsbox(["unpause", "counter"], { root, expect: 0 });
      await sleep(inVm ? 1500 : 400);
      assert.ok((await count()) > a, "the counter did not resume");
      assert.doesNotMatch((await tsbox(["ps"], { root, expect: 0 })).stdout, /Paused/);
      const stats = await tsbox(["stats", "--no-stream", "--format", "json", "counter"], {
        root,
        expect: 0,
      });
      const s = JSON.parse(stats.stdout.trim().split("\n")[0]!);
      assert.equal(s.Name, "counter");
      assert.match(s.MemUsage, / \/ 48MiB$/);
      assert.ok(Number(s.PIDs) >= 2, stats.stdout);
      assert.match(s.CPUPerc, /^\d+\.\d\d%$/);
      // Streaming: a table every second until SIGINT, then exit 0.
      const stream = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--allow-all",
          new URL("../main.ts", import.meta.url).pathname,
          "stats",
        ],
        env: { TSBOX_ROOT: root },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let text = "";
      const reader = stream.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const deadline = Date.now() + (inVm ? 60_000 : 15_000);
      while ((text.match(/^CONTAINER ID/gm) ?? []).length < 2 && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      stream.kill("SIGINT");
      reader.releaseLock();
      await stream.stdout.cancel().catch(() => {});
      const ended = await stream.status;
      await stream.stderr.cancel().catch(() => {});
      assert.equal(ended.code, 0);
      assert.ok((text.match(/^CONTAINER ID/gm) ?? []).length >= 2, text);
      assert.match(text, /counter/);
      const table = await tsbox(["stats", "--no-stream"], { root, expect: 0 });
      assert.match(
        table.stdout,
        /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/m,
      );
      assert.match(table.stdout, /counter/);
    } finally {
      await tsbox(["unpause", "counter"], { root });
      assert.equal((await c.stop()).code, 0);
    }
  },
);

rootTest(
  "groups: a 64 MiB parent binds a child asking 256 MiB; inspect shows both; rm rules",
  async (root) => {
    const g = `cg${crypto.randomUUID().slice(0, 6)}`;
    try {
      await tsbox(["group", "create", g, "--memory", "64m", "--pids-limit", "50"], {
        root,
        expect: 0,
      });
      await tsbox(["group", "create", `${g}/child`, "--memory", "128m"], { root, expect: 0 });
      const info = JSON.parse(
        (await tsbox(["group", "inspect", `${g}/child`], { root, expect: 0 })).stdout,
      )[0];
      assert.equal(info.path, `tsbox/${g}/child`);
      assert.equal(info.requested.memory, 128 * MiB);
      assert.equal(info.effective.memory, 64 * MiB);
      assert.equal(info.effective.pids, 50);
      assert.ok(info.dirs.length >= 1);
      const ls = await tsbox(["group", "ls"], { root, expect: 0 });
      assert.match(ls.stdout, new RegExp(`^${g}/child\\s+64MiB\\s`, "m"));

      const r = await tsbox(
        [
          ...RUN,
          "--name",
          "big",
          "--cgroup-parent",
          `${g}/child`,
          "-m",
          "256m",
          "busybox",
          "sh",
          "-c",
          "head -c 100m /dev/zero | tail | wc -c",
        ],
        { root },
      );
      assert.equal(r.code, 137, r.stderr);
      const rec = row(root, "big")!;
      assert.equal(rec.oom_killed, 1);
      const spec = JSON.parse(rec.config as string).spec;
      assert.equal(spec.linux.cgroupsPath, `tsbox/${g}/child/${rec.id}`);
      assert.equal(spec.linux.resources.memory.limit, 256 * MiB);

      const busy = await tsbox(["group", "rm", `${g}/child`], { root });
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /parent of containers: big/);
      const parent = await tsbox(["group", "rm", g], { root });
      assert.match(parent.stderr, /has child groups/);
      await tsbox(["rm", "big"], { root, expect: 0 });
    } finally {
      await tsbox(["group", "rm", `${g}/child`], { root });
      await tsbox(["group", "rm", g], { root });
    }
    assert.equal((await tsbox(["group", "ls", "-q"], { root, expect: 0 })).stdout.trim(), "");
  },
);

rootTest("bad input: exit 125, a clear message, no record and no cgroup", async (root) => {
  const cases: [string[], RegExp][] = [
    [["--memory", "1k"], /minimum memory limit allowed is 6MB/],
    [["--cpus", "-1"], /range of CPUs is from 0\.01 to \d+\.00/],
    [["--cpuset-cpus", "4000"], /requested CPUs are not available - requested 4000/],
    [["--cgroup-parent", "nosuchgroup"], /cgroup parent "nosuchgroup" does not exist/],
    [["--memory", "12zz"], /invalid size: '12zz'/],
    [["--device-cgroup-rule", "c 1:3"], /invalid device cgroup rule format/],
    [["--device", "/dev/nonexistent-tsbox"], /error gathering device information/],
  ];
  for (const [flags, message] of cases) {
    const r = await tsbox([...RUN, "--rm", ...flags, "busybox", "true"], { root });
    assert.equal(r.code, 125, `${flags.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout.trim(), "");
  const g = await tsbox(["group", "create", "bad/child"], { root });
  assert.equal(g.code, 125);
  assert.match(g.stderr, /parent group "bad" does not exist/);
});

rootTest("net_cls: the classid is set on v1; on v2, or unmounted, a clear error", async (root) => {
  const run = (extra: string[] = []) =>
    tsbox([...RUN, "--rm", "--net-cls-classid", "1048577", ...extra, "busybox", "true"], { root });
  if (layout!.mode === "unified") {
    const r = await run();
    assert.equal(r.code, 125);
    assert.match(r.stderr, /net_cls is a cgroup v1 controller/);
    return;
  }
  if (layout!.v1.net_cls === undefined) {
    const r = await run();
    assert.equal(r.code, 125);
    assert.match(r.stderr, /net_cls controller is not mounted/);
    // Mount it for the length of this test: tsbox finds it anywhere in mountinfo.
    const mnt = await Deno.makeTempDir({ prefix: "netcls-" });
    const m = await host("mount", ["-t", "cgroup", "-o", "net_cls", "net_cls", mnt], {
      check: false,
    });
    if (m.code !== 0) {
      console.error(`skipped the mounted half: mount net_cls: ${m.stderr.trim()}`);
      await Deno.remove(mnt);
      return;
    }
    try {
      const c = await background(root, "classy", ["--net-cls-classid", "1048577"], "true");
      try {
        const id = row(root, "classy")!.id as string;
        assert.equal(Deno.readTextFileSync(`${mnt}/tsbox/${id}/net_cls.classid`).trim(), "1048577");
        const pid = row(root, "classy")!.pid as number;
        const entries = parseProcCgroup(Deno.readTextFileSync(`/proc/${pid}/cgroup`));
        assert.equal(entries.find((e) => e.controllers.includes("net_cls"))?.path, `/tsbox/${id}`);
      } finally {
        assert.equal((await c.stop()).code, 0);
      }
    } finally {
      await Deno.remove(`${mnt}/tsbox`).catch(() => {});
      await host("umount", [mnt], { check: false });
      await Deno.remove(mnt).catch(() => {});
    }
    return;
  }
  const c = await background(root, "classy", ["--net-cls-classid", "1048577"], "true");
  try {
    const id = row(root, "classy")!.id as string;
    assert.equal(
      Deno.readTextFileSync(`${layout!.v1.net_cls}/tsbox/${id}/net_cls.classid`).trim(),
      "1048577",
    );
  } finally {
    assert.equal((await c.stop()).code, 0);
  }
});
