// Detached containers over their whole life, through the CLI as a user
// drives it: run -d, ps, inspect, stop, kill, start, restart, wait, rm,
// rename, create + start, --rm, restart policies, prefixes, top, events,
// system df/prune, and the errors a user gets for bad requests. Checked from
// the host (/proc) as well as through tsbox's own answers.

import assert from "node:assert/strict";
import { rootTest, tsbox } from "./lib/harness.ts";
import { alive, Background, fmt, inspect, runD, sleep, until } from "./lib/cli.ts";

const cmdline = (pid: number) =>
  Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).join(" ");

rootTest(
  "run -d prints the id at once; the container keeps running after the CLI exits",
  async (root) => {
    const t0 = Date.now();
    const id = await runD(root, "--name", "web", "busybox", "sleep", "60");
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.ok(Date.now() - t0 < 10_000, "run -d does not wait for the container");
    const pid = Number(await fmt(root, "web", "{{.State.Pid}}"));
    await sleep(500);
    assert.ok(alive(pid), "the container's process outlives the CLI");
    assert.equal(cmdline(pid), "sleep 60");
    assert.equal(await fmt(root, "web", "{{.State.Status}} {{.State.Running}}"), "running true");
    const ps = await tsbox(["ps"], { root, expect: 0 });
    const [header, row, ...rest] = ps.stdout.trimEnd().split("\n");
    assert.match(
      header!,
      /^CONTAINER ID {3}IMAGE {3,}COMMAND {3,}CREATED {3,}STATUS {3,}PORTS {3,}NAMES$/,
    );
    assert.deepEqual(rest, []);
    assert.match(
      row!,
      new RegExp(
        `^${
          id.slice(0, 12)
        } {3}busybox {3,}"sleep 60" {3,}.+ ago {3,}Up (Less than a second|\\d+ seconds?) {3,}web$`,
      ),
    );
  },
);

rootTest("ps: -a, -q, --no-trunc, --filter and --format as Docker's", async (root) => {
  const up = await runD(root, "--name", "up", "-l", "tier=web", "busybox", "sleep", "60");
  const ex = await runD(root, "--name", "ex", "busybox", "sh", "-c", "exit 3");
  const cr = (await tsbox(["create", "--network", "none", "--name", "cr", "busybox", "true"], {
    root,
    expect: 0,
  })).stdout.trim();
  assert.equal((await tsbox(["wait", "ex"], { root, expect: 0 })).stdout.trim(), "3");
  const q = (args: string[]) =>
    tsbox(["ps", ...args], { root, expect: 0 }).then((r) => r.stdout.trim().split("\n"));
  assert.deepEqual(await q(["-q"]), [up.slice(0, 12)], "ps lists running containers only");
  assert.deepEqual(
    (await q(["-aq"])).sort(),
    [up, ex, cr].map((i) => i.slice(0, 12)).sort(),
  );
  assert.deepEqual(await q(["-q", "--no-trunc"]), [up]);
  assert.deepEqual(await q(["-aq", "--filter", "status=exited"]), [ex.slice(0, 12)]);
  assert.deepEqual(await q(["-aq", "--filter", "status=created"]), [cr.slice(0, 12)]);
  assert.deepEqual(await q(["-aq", "--filter", "exited=3"]), [ex.slice(0, 12)]);
  assert.deepEqual(await q(["-aq", "--filter", "name=^c"]), [cr.slice(0, 12)]);
  assert.deepEqual(await q(["-aq", "--filter", `id=${up.slice(0, 5)}`]), [up.slice(0, 12)]);
  assert.deepEqual(await q(["-aq", "--filter", "label=tier=web"]), [up.slice(0, 12)]);
  const statuses = Object.fromEntries(
    (await q(["-a", "--format", "{{.Names}}\t{{.Status}}\t{{.State}}"])).map((l) => l.split("\t"))
      .map(([n, ...r]) => [n, r.join("|")]),
  );
  assert.match(statuses.up!, /^Up (Less than a second|\d+ seconds?)\|running$/);
  assert.match(statuses.ex!, /^Exited \(3\) (Less than a second|\d+ seconds?) ago\|exited$/);
  assert.equal(statuses.cr, "Created|created");
  const table = await q(["-a", "--format", "table {{.ID}}\t{{.Names}}"]);
  assert.match(table[0]!, /^CONTAINER ID {3}NAMES$/);
  assert.equal(table.length, 4);
  const bad = await tsbox(["ps", "--filter", "colour=red"], { root });
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid filter/);
  // After two seconds the status counts seconds, as Docker's units.HumanDuration.
  const started = Date.parse(await fmt(root, "up", "{{.State.StartedAt}}"));
  await sleep(Math.max(0, started + 2100 - Date.now()));
  assert.match((await q(["--format", "{{.Status}}"]))[0]!, /^Up \d+ seconds$/);
  // Without -a, a status filter looks at every container (Docker sets All for it),
  // other filters only at running ones.
  assert.deepEqual(await q(["-q", "--filter", "status=exited"]), [ex.slice(0, 12)]);
  assert.deepEqual(
    await q(["-q", "--filter", "name=^(up|ex)$"]),
    [up.slice(0, 12)],
    "ps --filter name=... without -a lists only running containers",
  );
});

rootTest("inspect and wait record the exit code, start and finish times", async (root) => {
  await runD(root, "--name", "quits", "busybox", "sh", "-c", "sleep 0.5; exit 3");
  const wait = await tsbox(["wait", "quits"], { root, expect: 0 });
  assert.equal(wait.stdout.trim(), "3");
  const s = (await inspect(root, "quits")).State;
  assert.equal(s.Status, "exited");
  assert.equal(s.Running, false);
  assert.equal(s.Pid, 0);
  assert.equal(s.ExitCode, 3);
  assert.equal(s.OOMKilled, false);
  assert.equal(s.Dead, false);
  const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
  assert.match(s.StartedAt, rfc3339);
  assert.match(s.FinishedAt, rfc3339);
  const ran = Date.parse(s.FinishedAt) - Date.parse(s.StartedAt);
  assert.ok(ran >= 400 && ran < 10_000, `ran ${ran} ms`);
  // wait on a container that has already stopped answers at once, with the same code.
  assert.equal((await tsbox(["wait", "quits"], { root, expect: 0 })).stdout.trim(), "3");
});

rootTest("an OOM kill is recorded: OOMKilled, exit code 137 and an oom event", async (root) => {
  await runD(
    root,
    "--name",
    "hog",
    "-m",
    "16m",
    "--memory-swap",
    "16m",
    "busybox",
    "sh",
    "-c",
    "tail /dev/zero",
  );
  assert.equal((await tsbox(["wait", "hog"], { root, expect: 0 })).stdout.trim(), "137");
  const s = (await inspect(root, "hog")).State;
  assert.equal(s.OOMKilled, true);
  assert.equal(s.ExitCode, 137);
  assert.equal(s.Status, "exited");
  const ev = await tsbox(
    ["events", "--since", "5m", "--until", "0s", "--filter", "container=hog"],
    { root, expect: 0 },
  );
  assert.match(ev.stdout, / container oom [0-9a-f]{64}/);
  assert.match(ev.stdout, / container die [0-9a-f]{64} .*exitCode=137/);
});

rootTest(
  "inspect: pid, config, mounts, network, cgroup with effective limits, namespace ids as /proc shows them",
  async (root) => {
    const vol = await Deno.makeTempDir({ prefix: "tsbox-vol-" });
    try {
      const id = await runD(
        root,
        "--name",
        "full",
        "-h",
        "box",
        "-e",
        "GREETING=hi",
        "-w",
        "/srv",
        "-v",
        `${vol}:/data:ro`,
        "-m",
        "64m",
        "--pids-limit",
        "50",
        "--restart",
        "on-failure:2",
        "-l",
        "a=b",
        "busybox",
        "sleep",
        "60",
      );
      const d = await inspect(root, "fu"); // a name prefix finds it
      assert.equal(d.Id, id);
      assert.equal(d.Name, "/full");
      const pid = d.State.Pid;
      assert.ok(alive(pid));
      assert.equal(cmdline(pid), "sleep 60");
      assert.equal(d.State.Status, "running");
      assert.equal(d.State.Running, true);
      assert.ok(Date.parse(d.State.StartedAt) <= Date.now());
      assert.equal(d.State.FinishedAt, "0001-01-01T00:00:00Z");
      assert.equal(d.Path, "sleep");
      assert.deepEqual(d.Args, ["60"]);
      assert.equal(d.Config.Hostname, "box");
      assert.ok(d.Config.Env.includes("GREETING=hi"));
      assert.equal(d.Config.WorkingDir, "/srv");
      assert.deepEqual(d.Config.Cmd, ["sleep", "60"]);
      assert.equal(d.Config.Image, "busybox");
      assert.deepEqual(d.Config.Labels, { a: "b" });
      assert.deepEqual(d.HostConfig.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 2 });
      assert.deepEqual(d.Mounts, [{ Type: "bind", Source: vol, Destination: "/data", RW: false }]);
      assert.equal(d.NetworkSettings.NetworkMode, "none");
      assert.equal(d.NetworkSettings.IPAddress, "");
      // Namespace ids are what the kernel shows for the container's process.
      const procName: Record<string, string> = {
        pid: "pid",
        network: "net",
        mount: "mnt",
        ipc: "ipc",
        uts: "uts",
        cgroup: "cgroup",
        user: "user",
      };
      for (const [oci, proc] of Object.entries(procName)) {
        assert.equal(d.Namespaces[oci], Deno.readLinkSync(`/proc/${pid}/ns/${proc}`), oci);
      }
      assert.notEqual(d.Namespaces.pid, Deno.readLinkSync("/proc/self/ns/pid"));
      // The cgroup: its path is the one /proc/PID/cgroup shows, with the limits in effect.
      const cg = d.Cgroup;
      assert.ok(cg, "inspect has a Cgroup section");
      const path: string = cg.Path;
      assert.ok(path.includes(id), `cgroup path ${path} names the container`);
      const procCgroup = Deno.readTextFileSync(`/proc/${pid}/cgroup`);
      assert.ok(procCgroup.includes(`/${path.replace(/^\//, "")}\n`), procCgroup);
      const eff = cg.Effective;
      assert.equal(eff.Memory, 64 * 1024 * 1024);
      assert.equal(eff.PidsLimit, 50);
      // After it stops: no pid, no namespaces, and a finish time.
      await tsbox(["stop", "-t", "1", "full"], { root, expect: 0 });
      const after = await inspect(root, "full");
      assert.equal(after.State.Pid, 0);
      assert.equal(after.State.Running, false);
      assert.notEqual(after.State.FinishedAt, "0001-01-01T00:00:00Z");
    } finally {
      await Deno.remove(vol, { recursive: true });
    }
  },
);

rootTest(
  "stop: SIGTERM, then SIGKILL after -t; a trap exits with its own code, an ignorer with 137",
  async (root) => {
    await runD(
      root,
      "--name",
      "ignorer",
      "busybox",
      "sh",
      "-c",
      "trap '' TERM; while :; do sleep 0.1; done",
    );
    await runD(
      root,
      "--name",
      "trapper",
      "busybox",
      "sh",
      "-c",
      "trap 'exit 7' TERM; while :; do sleep 0.1; done",
    );
    await sleep(300); // let the shells install their traps
    let t0 = Date.now();
    const s1 = await tsbox(["stop", "-t", "1", "ignorer"], { root, expect: 0 });
    const slow = Date.now() - t0;
    assert.equal(s1.stdout, "ignorer\n");
    assert.ok(slow >= 1000, `killed after the 1 s grace period, not before (${slow} ms)`);
    assert.ok(slow < 8000, `but soon after it (${slow} ms)`);
    t0 = Date.now();
    await tsbox(["stop", "-t", "5", "trapper"], { root, expect: 0 });
    const fast = Date.now() - t0;
    assert.ok(fast < 4000, `the trap ended it without waiting for the grace period (${fast} ms)`);
    assert.equal(await fmt(root, "ignorer", "{{.State.Status}} {{.State.ExitCode}}"), "exited 137");
    assert.equal(await fmt(root, "trapper", "{{.State.Status}} {{.State.ExitCode}}"), "exited 7");
    const ps = await tsbox(["ps", "-a", "--format", "{{.Names}}: {{.Status}}"], {
      root,
      expect: 0,
    });
    assert.match(ps.stdout, /^ignorer: Exited \(137\) .* ago$/m);
    assert.match(ps.stdout, /^trapper: Exited \(7\) .* ago$/m);
  },
);

rootTest("kill: SIGKILL by default, -s sends the signal the container handles", async (root) => {
  await runD(
    root,
    "--name",
    "sig",
    "busybox",
    "sh",
    "-c",
    "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done",
  );
  await until(
    "the trap",
    async () => (await tsbox(["logs", "sig"], { root })).stdout.includes("ready"),
  );
  const k = await tsbox(["kill", "-s", "USR1", "sig"], { root, expect: 0 });
  assert.equal(k.stdout, "sig\n");
  await until(
    "got-usr1 in the logs",
    async () => (await tsbox(["logs", "sig"], { root })).stdout.includes("got-usr1"),
  );
  assert.equal(await fmt(root, "sig", "{{.State.Status}}"), "running", "USR1 did not stop it");
  await tsbox(["kill", "-s", "SIGUSR1", "sig"], { root, expect: 0 });
  await tsbox(["kill", "sig"], { root, expect: 0 });
  assert.equal((await tsbox(["wait", "sig"], { root, expect: 0 })).stdout.trim(), "137");
  assert.equal(await fmt(root, "sig", "{{.State.Status}} {{.State.ExitCode}}"), "exited 137");
  const bad = await tsbox(["kill", "-s", "NOSUCHSIG", "sig"], { root });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid signal: NOSUCHSIG/);
});

rootTest(
  "start runs a stopped container again with its files kept; restart gives it a new process",
  async (root) => {
    const script = "echo run >> /runs; echo run-$(wc -l < /runs); " +
      "trap 'exit 0' TERM; while :; do sleep 0.1; done";
    await runD(root, "--name", "again", "busybox", "sh", "-c", script);
    const pid1 = Number(await fmt(root, "again", "{{.State.Pid}}"));
    const started1 = await fmt(root, "again", "{{.State.StartedAt}}");
    await tsbox(["stop", "-t", "5", "again"], { root, expect: 0 });
    assert.ok(!alive(pid1));
    assert.equal((await tsbox(["start", "again"], { root, expect: 0 })).stdout, "again\n");
    assert.equal(await fmt(root, "again", "{{.State.Status}}"), "running");
    const pid2 = Number(await fmt(root, "again", "{{.State.Pid}}"));
    assert.notEqual(pid2, pid1);
    assert.ok(alive(pid2));
    assert.notEqual(await fmt(root, "again", "{{.State.StartedAt}}"), started1);
    // start of a running container is not an error (Docker: no-op).
    await tsbox(["start", "again"], { root, expect: 0 });
    assert.equal(Number(await fmt(root, "again", "{{.State.Pid}}")), pid2);
    await until(
      "run-2 in the logs",
      async () => (await tsbox(["logs", "again"], { root })).stdout.includes("run-2"),
    );
    const r = await tsbox(["restart", "-t", "5", "again"], { root, expect: 0 });
    assert.equal(r.stdout, "again\n");
    const pid3 = Number(await fmt(root, "again", "{{.State.Pid}}"));
    assert.ok(!alive(pid2), "restart stopped the old process");
    assert.ok(alive(pid3), "and started a new one");
    await until(
      "run-3 in the logs",
      async () => (await tsbox(["logs", "again"], { root })).stdout.includes("run-3"),
    );
    assert.deepEqual(
      (await tsbox(["logs", "again"], { root, expect: 0 })).stdout.trim().split("\n"),
      ["run-1", "run-2", "run-3"],
    );
    // A manual restart is not a restart-policy restart.
    assert.equal(await fmt(root, "again", "{{.RestartCount}}"), "0");
  },
);

rootTest("create makes a container that start runs (by id prefix)", async (root) => {
  const id = (await tsbox(
    [
      "create",
      "--network",
      "none",
      "--name",
      "later",
      "busybox",
      "sh",
      "-c",
      "echo hello; sleep 60",
    ],
    { root, expect: 0 },
  )).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await tsbox(["ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}"], {
    root,
    expect: 0,
  });
  assert.equal(ps.stdout, `${id.slice(0, 12)} later Created\n`);
  assert.equal(
    await fmt(root, "later", "{{.State.Pid}} {{.State.StartedAt}}"),
    "0 0001-01-01T00:00:00Z",
  );
  assert.equal((await tsbox(["ps", "-q"], { root, expect: 0 })).stdout, "", "not running");
  await tsbox(["start", id.slice(0, 8)], { root, expect: 0 });
  assert.equal(await fmt(root, "later", "{{.State.Status}}"), "running");
  const pid = Number(await fmt(root, "later", "{{.State.Pid}}"));
  assert.ok(alive(pid));
  await until(
    "hello in the logs",
    async () => (await tsbox(["logs", "later"], { root })).stdout === "hello\n",
  );
});

rootTest("rm: a running container needs -f, which kills it; -v is accepted", async (root) => {
  const id = await runD(root, "--name", "busy", "busybox", "sleep", "60");
  const pid = Number(await fmt(root, "busy", "{{.State.Pid}}"));
  const cgroupDirs: string[] = (await inspect(root, "busy")).Cgroup?.Dirs ?? [];
  const no = await tsbox(["rm", "busy"], { root });
  assert.equal(no.code, 1);
  assert.match(no.stderr, /stop the container before removing or force remove/);
  assert.ok(alive(pid), "a refused rm leaves it running");
  const yes = await tsbox(["rm", "-f", "-v", "busy"], { root, expect: 0 });
  assert.equal(yes.stdout, "busy\n");
  assert.ok(!alive(pid), "rm -f killed it");
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
  for (const d of cgroupDirs) assert.ok(!(await Deno.stat(d).catch(() => false)), `${d} is gone`);
  assert.ok(
    !(await Deno.stat(`${root}/containers/${id}`).catch(() => false)),
    "its files are gone",
  );
  const gone = await tsbox(["inspect", "busy"], { root });
  assert.equal(gone.code, 1);
  // A stopped container needs no -f.
  await runD(root, "--name", "done", "busybox", "true");
  await tsbox(["wait", "done"], { root, expect: 0 });
  assert.equal((await tsbox(["rm", "done"], { root, expect: 0 })).stdout, "done\n");
});

rootTest(
  "--rm with -d removes the container once it exits, and once it is stopped",
  async (root) => {
    await runD(root, "--rm", "--name", "brief", "busybox", "sh", "-c", "sleep 0.3");
    await until(
      "brief to be removed",
      async () => (await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout === "",
    );
    await runD(root, "--rm", "--name", "stopped", "busybox", "sleep", "60");
    await tsbox(["stop", "-t", "1", "stopped"], { root, expect: 0 });
    await until(
      "stopped to be removed",
      async () => (await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout === "",
    );
    assert.equal((await tsbox(["inspect", "brief"], { root })).code, 1);
  },
);

rootTest(
  "rename: the new name works, the old one is gone, a taken name is refused",
  async (root) => {
    const id = await runD(root, "--name", "old", "busybox", "sleep", "60");
    await runD(root, "--name", "other", "busybox", "sleep", "60");
    await tsbox(["rename", "old", "new"], { root, expect: 0 });
    assert.equal(await fmt(root, "new", "{{.Id}} {{.Name}}"), `${id} /new`);
    assert.equal((await tsbox(["inspect", "old"], { root })).code, 1);
    const taken = await tsbox(["rename", "new", "other"], { root });
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /the container name "\/other" is already in use/);
    assert.equal(await fmt(root, "new", "{{.Name}} {{.State.Status}}"), "/new running");
    const bad = await tsbox(["rename", "new", "bad name!"], { root });
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid container name/);
  },
);

rootTest("names and ids can be abbreviated to any unique prefix", async (root) => {
  // Names that start with a letter no hex id can start with.
  const a = await runD(root, "--name", "kilo", "busybox", "sleep", "60");
  const b = await runD(root, "--name", "lima", "busybox", "sleep", "60");
  let n = 1;
  while (a.slice(0, n) === b.slice(0, n)) n++;
  const idA = a.slice(0, Math.max(n, 3)), idB = b.slice(0, Math.max(n, 3));
  assert.equal(await fmt(root, "ki", "{{.Id}}"), a);
  assert.equal(await fmt(root, "lim", "{{.Id}}"), b);
  assert.equal(await fmt(root, idA, "{{.Name}}"), "/kilo");
  assert.equal(await fmt(root, idB, "{{.Name}}"), "/lima");
  assert.equal(await fmt(root, a, "{{.Name}}"), "/kilo");
  assert.equal(await fmt(root, "/lima", "{{.Id}}"), b, "a leading slash, as Docker prints names");
  await tsbox(["exec", "kil", "true"], { root, expect: 0 });
  await tsbox(["logs", "li"], { root, expect: 0 });
  await tsbox(["exec", idB, "true"], { root, expect: 0 });
  await tsbox(["stop", "-t", "1", idA], { root, expect: 0 });
  assert.equal(await fmt(root, "kilo", "{{.State.Status}}"), "exited");
  await tsbox(["start", "k"], { root, expect: 0 });
  assert.equal(await fmt(root, "kilo", "{{.State.Status}}"), "running");
  await tsbox(["rm", "-f", "lim"], { root, expect: 0 });
  assert.equal(
    (await tsbox(["ps", "-a", "--format", "{{.Names}}"], { root, expect: 0 })).stdout,
    "kilo\n",
  );
});

rootTest("top lists the container's processes with host pids", async (root) => {
  await runD(root, "--name", "procs", "busybox", "sh", "-c", "sleep 61 & exec sleep 60");
  const pid = Number(await fmt(root, "procs", "{{.State.Pid}}"));
  const out = await until("both processes in top", async () => {
    const r = await tsbox(["top", "procs"], { root, expect: 0 });
    return r.stdout.includes("sleep 61") && r.stdout.includes("sleep 60") && r.stdout;
  });
  const [header, ...rows] = out.trim().split("\n");
  assert.match(header!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  const init = rows.find((r) => r.endsWith("sleep 60"))!.trim().split(/\s+/);
  assert.equal(Number(init[1]), pid, "host pid of the container's init");
  const child = rows.find((r) => r.endsWith("sleep 61"))!.trim().split(/\s+/);
  assert.equal(Number(child[2]), pid, "its child's parent is the init");
  assert.equal(cmdline(Number(child[1])), "sleep 61");
  await tsbox(["stop", "-t", "1", "procs"], { root, expect: 0 });
  const stopped = await tsbox(["top", "procs"], { root });
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /is not running/);
});

rootTest(
  "events: create, start, kill, stop, die, rename, restart, destroy as they happen",
  async (root) => {
    const ev = new Background(root, [
      "events",
      "--format",
      "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    try {
      // Ready when it shows an event made after it started.
      await tsbox(["create", "--network", "none", "--name", "probe0", "busybox", "true"], {
        root,
        expect: 0,
      });
      let i = 0;
      await until("tsbox events to show a rename", async () => {
        await tsbox(["rename", `probe${i}`, `probe${i + 1}`], { root, expect: 0 });
        i++;
        await sleep(200);
        return /^rename probe\d+$/m.test(ev.out);
      }, 15_000);
      await runD(
        root,
        "--name",
        "ev",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 3' TERM; while :; do sleep 0.1; done",
      );
      await ev.waitFor(/^start ev$/m);
      assert.match(ev.out, /^create ev\n(.*\n)*start ev$/m);
      await tsbox(["kill", "-s", "USR1", "ev"], { root, expect: 0 });
      await ev.waitFor(/^kill ev$/m);
      await tsbox(["stop", "ev"], { root, expect: 0 });
      await ev.waitFor(/^die ev$/m);
      assert.match(ev.out, /^stop ev$/m);
      await tsbox(["start", "ev"], { root, expect: 0 });
      await tsbox(["restart", "-t", "5", "ev"], { root, expect: 0 });
      await ev.waitFor(/^restart ev$/m);
      await tsbox(["rename", "ev", "ev2"], { root, expect: 0 });
      await ev.waitFor(/^rename ev2$/m);
      await tsbox(["rm", "-f", "ev2"], { root, expect: 0 });
      await ev.waitFor(/^destroy ev2$/m);
      const mine = ev.out.split("\n").filter((l) => / ev2?$/.test(l)).map((l) => l.split(" ")[0]);
      assert.equal(mine[0], "create");
      assert.equal(mine.at(-1), "destroy");
      assert.ok(mine.indexOf("start") < mine.indexOf("die"), mine.join(","));
      assert.equal(mine.filter((a) => a === "start").length, 3, mine.join(","));
    } finally {
      await ev.kill();
    }
    // --since/--until replay what happened, with full ids and attributes.
    const past = await tsbox(["events", "--since", "10m", "--until", "0s", "-f", "event=die"], {
      root,
      expect: 0,
    });
    assert.match(
      past.stdout,
      /^\d{4}-\d\d-\d\dT\S+ container die [0-9a-f]{64} \(.*exitCode=3.*\)$/m,
    );
  },
);

rootTest("system df counts containers; system prune -f removes only stopped ones", async (root) => {
  const up = await runD(root, "--name", "keep", "busybox", "sleep", "60");
  const gone = await runD(root, "--name", "old", "busybox", "sh", "-c", "echo data > /big; true");
  await tsbox(["wait", "old"], { root, expect: 0 });
  const created = (await tsbox(["create", "--network", "none", "busybox", "true"], {
    root,
    expect: 0,
  })).stdout.trim();
  const df = await tsbox(["system", "df"], { root, expect: 0 });
  const lines = df.stdout.trim().split("\n");
  assert.match(lines[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  assert.match(df.stdout, /^Images\s+1\s+1\s+/m);
  assert.match(df.stdout, /^Containers\s+3\s+1\s+/m);
  const prune = await tsbox(["system", "prune", "-f"], { root, expect: 0 });
  assert.match(prune.stdout, /Deleted Containers:/);
  assert.ok(prune.stdout.includes(gone) && prune.stdout.includes(created), prune.stdout);
  assert.ok(!prune.stdout.includes(up));
  assert.equal((await tsbox(["ps", "-aq", "--no-trunc"], { root, expect: 0 })).stdout, `${up}\n`);
  assert.equal(await fmt(root, "keep", "{{.State.Status}}"), "running");
  assert.match(
    (await tsbox(["system", "df"], { root, expect: 0 })).stdout,
    /^Containers\s+1\s+1\s+/m,
  );
});

// --- Restart policies -------------------------------------------------------

rootTest("--restart on-failure:3 restarts exactly three times, then stays exited", async (root) => {
  await runD(
    root,
    "--name",
    "flaky",
    "--restart",
    "on-failure:3",
    "busybox",
    "sh",
    "-c",
    "echo run; exit 3",
  );
  // Polled as a user would, with inspect, through the restart delays (100+200+400 ms).
  const final = await until("flaky to give up", async () => {
    const s = await fmt(root, "flaky", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}");
    return !/^(running|restarting) /.test(s) && s;
  }, 15_000);
  assert.equal(final, "exited 3 3", "status, restart count, exit code");
  await sleep(2000); // the next delay would have been 800 ms
  assert.equal(await fmt(root, "flaky", "{{.State.Status}} {{.RestartCount}}"), "exited 3");
  assert.equal((await tsbox(["logs", "flaky"], { root, expect: 0 })).stdout, "run\n".repeat(4));
  assert.equal(await fmt(root, "flaky", "{{.HostConfig.RestartPolicy.Name}}"), "on-failure");
});

rootTest("--restart on-failure and no leave a container that exits 0 alone", async (root) => {
  await runD(root, "--name", "ok", "--restart", "on-failure", "busybox", "sh", "-c", "echo once");
  await runD(root, "--name", "no", "--restart", "no", "busybox", "sh", "-c", "echo once; exit 1");
  await runD(root, "--name", "default", "busybox", "sh", "-c", "echo once; exit 1");
  await sleep(1500);
  for (const [name, code] of [["ok", 0], ["no", 1], ["default", 1]] as const) {
    assert.equal(
      await fmt(root, name, "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"),
      `exited 0 ${code}`,
      name,
    );
    assert.equal((await tsbox(["logs", name], { root, expect: 0 })).stdout, "once\n", name);
  }
});

for (const policy of ["always", "unless-stopped"]) {
  rootTest(
    `--restart ${policy} restarts a container that exits by itself, but not after stop`,
    async (root) => {
      // The first run exits 0; the second stays up (its upper layer keeps /first).
      const script = "if [ -e /first ]; then echo second; exec sleep 60; fi; " +
        "touch /first; echo first";
      await runD(root, "--name", "svc", "--restart", policy, "busybox", "sh", "-c", script);
      await until(
        "the second run",
        async () => (await tsbox(["logs", "svc"], { root })).stdout === "first\nsecond\n",
      );
      assert.equal(await fmt(root, "svc", "{{.State.Status}} {{.RestartCount}}"), "running 1");
      const pid = Number(await fmt(root, "svc", "{{.State.Pid}}"));
      await tsbox(["stop", "-t", "1", "svc"], { root, expect: 0 });
      assert.ok(!alive(pid));
      await sleep(1500);
      assert.equal(
        await fmt(root, "svc", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"),
        "exited 1 137",
        "stop is final: no restart",
      );
      assert.equal((await tsbox(["logs", "svc"], { root, expect: 0 })).stdout, "first\nsecond\n");
      // kill is final too; start brings it back.
      await tsbox(["start", "svc"], { root, expect: 0 });
      await tsbox(["kill", "svc"], { root, expect: 0 });
      await sleep(1500);
      assert.equal(await fmt(root, "svc", "{{.State.Status}}"), "exited");
    },
  );
}

rootTest("ps and inspect during a restart delay do not break the restart policy", async (root) => {
  // Exits at once, 5 times: each restart waits 100, 200, 400, 800, 1600 ms.
  await runD(
    root,
    "--name",
    "bouncy",
    "--restart",
    "on-failure:5",
    "busybox",
    "sh",
    "-c",
    "echo run; exit 1",
  );
  const seen = new Set<string>();
  const deadline = Date.now() + 15_000;
  let last = "";
  while (Date.now() < deadline) {
    const ps = await tsbox(["ps", "-a", "--format", "{{.State}}"], { root, expect: 0 });
    last = ps.stdout.trim();
    seen.add(last);
    if (last === "exited" && (await fmt(root, "bouncy", "{{.RestartCount}}")) === "5") break;
    if (last === "dead") break;
  }
  assert.ok(!seen.has("dead"), `states seen: ${[...seen].join(", ")}`);
  assert.equal(await fmt(root, "bouncy", "{{.State.Status}} {{.RestartCount}}"), "exited 5");
  assert.equal((await tsbox(["logs", "bouncy"], { root, expect: 0 })).stdout, "run\n".repeat(6));
});

rootTest("an invalid --restart policy is refused with 125 and creates nothing", async (root) => {
  for (const p of ["sometimes", "always:3", "on-failure:x"]) {
    const r = await tsbox(["run", "-d", "--network", "none", "--restart", p, "busybox", "true"], {
      root,
    });
    assert.equal(r.code, 125, p);
    assert.match(r.stderr, /invalid restart policy/, p);
  }
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
});

rootTest(
  "--rm with a restart policy is refused (125), as Docker's conflicting options",
  async (root) => {
    for (const p of ["always", "on-failure", "unless-stopped"]) {
      const r = await tsbox(
        ["run", "-d", "--rm", "--restart", p, "--network", "none", "busybox", "true"],
        { root },
      );
      assert.equal(r.code, 125, `--rm --restart ${p}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /--restart.*--rm|--rm.*--restart/);
    }
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
    // --restart no goes with --rm.
    await tsbox(["run", "--rm", "--restart", "no", "--network", "none", "busybox", "true"], {
      root,
      expect: 0,
    });
  },
);

rootTest("wait and attach return the exit code of a --rm container", async (root) => {
  await runD(root, "--rm", "--name", "brief", "busybox", "sh", "-c", "sleep 1; exit 3");
  await runD(root, "--rm", "--name", "brief2", "busybox", "sh", "-c", "sleep 1; exit 4");
  const [w, a] = await Promise.all([
    tsbox(["wait", "brief"], { root }),
    tsbox(["attach", "brief2"], { root }),
  ]);
  assert.equal(w.stdout.trim(), "3", "wait prints the exit code of the removed container");
  assert.equal(a.code, 4, "attach exits with it");
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
});

// --- Bad input ----------------------------------------------------------------

rootTest("an unknown container is a clear error with exit code 1 for every verb", async (root) => {
  const verbs = [
    ["stop", "nosuch"],
    ["kill", "nosuch"],
    ["start", "nosuch"],
    ["restart", "nosuch"],
    ["wait", "nosuch"],
    ["rm", "nosuch"],
    ["inspect", "nosuch"],
    ["logs", "nosuch"],
    ["exec", "nosuch", "true"],
    ["top", "nosuch"],
    ["attach", "nosuch"],
    ["rename", "nosuch", "other"],
    ["cp", "nosuch:/etc/hostname", "/tmp/tsbox-never-written"],
  ];
  const wrong: string[] = [];
  for (const args of verbs) {
    const r = await tsbox(args, { root });
    if (r.code !== 1 || !/no such (container|object): nosuch/i.test(r.stderr)) {
      wrong.push(`tsbox ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
    }
  }
  assert.deepEqual(wrong, [], 'Docker answers 1 with "No such container" (a daemon-side error)');
});

rootTest(
  "an ambiguous prefix is refused (exit 1), naming the candidates, and changes nothing",
  async (root) => {
    await runD(root, "--name", "dup-a", "busybox", "sleep", "60");
    await runD(root, "--name", "dup-b", "busybox", "sleep", "60");
    for (
      const args of [
        ["stop", "dup"],
        ["rm", "-f", "dup"],
        ["kill", "dup"],
        ["exec", "dup", "true"],
        ["inspect", "dup"],
      ]
    ) {
      const r = await tsbox(args, { root });
      assert.equal(r.code, 1, `tsbox ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /multiple containers match "dup": dup-[ab], dup-[ab]/);
    }
    const ps = await tsbox(["ps", "--format", "{{.Names}} {{.State}}"], { root, expect: 0 });
    assert.deepEqual(ps.stdout.trim().split("\n").sort(), ["dup-a running", "dup-b running"]);
  },
);

rootTest("a name already in use: run and create fail with 125 and create nothing", async (root) => {
  const id = await runD(root, "--name", "taken", "busybox", "sleep", "60");
  for (const verb of [["run", "-d"], ["create"]]) {
    const r = await tsbox([...verb, "--network", "none", "--name", "taken", "busybox", "true"], {
      root,
    });
    assert.equal(r.code, 125, verb.join(" "));
    assert.match(
      r.stderr,
      new RegExp(`the container name "/taken" is already in use by container "${id}"`),
    );
  }
  assert.equal((await tsbox(["ps", "-aq", "--no-trunc"], { root, expect: 0 })).stdout, `${id}\n`);
});

rootTest("stop of a stopped container succeeds; kill of one fails with 1", async (root) => {
  await runD(root, "--name", "idle", "busybox", "true");
  await tsbox(["wait", "idle"], { root, expect: 0 });
  const stop = await tsbox(["stop", "idle"], { root });
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, "idle\n");
  await tsbox(["create", "--network", "none", "--name", "fresh", "busybox", "true"], {
    root,
    expect: 0,
  });
  assert.equal((await tsbox(["stop", "fresh"], { root, expect: 0 })).stdout, "fresh\n");
  for (const name of ["idle", "fresh"]) {
    const kill = await tsbox(["kill", name], { root });
    assert.equal(kill.code, 1, name);
    assert.match(kill.stderr, new RegExp(`cannot kill ${name}: container is not running`));
  }
  assert.equal(await fmt(root, "idle", "{{.State.Status}} {{.State.ExitCode}}"), "exited 0");
  assert.equal(await fmt(root, "fresh", "{{.State.Status}}"), "created");
  const attach = await tsbox(["attach", "idle"], { root });
  assert.equal(attach.code, 1);
  assert.match(attach.stderr, /cannot attach to a stopped container/);
});

rootTest("usage errors exit 125 before anything is done", async (root) => {
  for (
    const args of [["stop", "--bogus", "x"], ["ps", "--bogus"], ["logs", "--tail", "ten", "x"], [
      "run",
      "-d",
      "--network",
      "none",
      "--bogus",
      "busybox",
    ]]
  ) {
    const r = await tsbox(args, { root });
    assert.equal(r.code, 125, `tsbox ${args.join(" ")}: ${r.stderr}`);
  }
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
});
