// Crash safety: tsbox killed with SIGKILL at each point of `run`
// (TSBOX_FAULT=<point>, src/faults.ts: the CLI, or the supervisor that does a
// foreground run's work for it), the supervisor killed while it starts
// or watches a container, the foreground CLI killed while its container
// runs, and a host reboot (simulated: every process killed and the run root
// deleted). After each, `ps -a` tells the truth, a container that is not
// running says why (inspect .State.Error), `rm -f` removes it, and nothing
// is left on the host: no mount, link, cgroup, nft table or process.

import assert from "node:assert/strict";
import {
  assertNoLeaks,
  rootTest,
  type RunResult,
  snapshot,
  tsbox,
  TSBOX_PERMS,
} from "./lib/harness.ts";
import { alive, inspect, main, sleep, supervisors, until } from "./lib/cli.ts";

/** NAME -> STATUS column of `ps -a`. */
async function psAll(root: string): Promise<Record<string, string>> {
  const r = await tsbox(["ps", "-a", "--format", "{{.Names}}\t{{.Status}}"], { root, expect: 0 });
  return Object.fromEntries(r.stdout.trim().split("\n").filter(Boolean).map((l) => l.split("\t")));
}

/** Processes in the PID namespace of none of ours whose command line is `cmd`. */
function containerProcesses(cmd: string): number[] {
  const own = Deno.readLinkSync("/proc/self/ns/pid");
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/ns/pid`) === own) continue;
      const c = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0").filter(Boolean)
        .join(" ");
      if (c === cmd) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

async function killSupervisor(root: string): Promise<void> {
  const [sup] = await until(
    "the supervisor",
    () => Promise.resolve(supervisors(root).length > 0 && supervisors(root)),
  );
  Deno.kill(sup!, "SIGKILL");
  await until("the supervisor to die", () => Promise.resolve(!alive(sup!)));
}

/** A foreground `tsbox run` left running, with its output. */
function foreground(root: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...TSBOX_PERMS, main, "run", "--network", "none", ...args],
    env: { TSBOX_ROOT: root },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const state = { out: "", err: "" };
  const pump = (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stdout) state.out += dec.decode(c, { stream: true });
  })();
  const errs = (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) state.err += dec.decode(c, { stream: true });
  })();
  return {
    child,
    state,
    async kill9() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
    async done() {
      await child.status;
      await Promise.all([pump.catch(() => {}), errs.catch(() => {})]);
    },
  };
}

/**
 * The run failed because the process doing the work died: the CLI itself
 * (137, SIGKILL), or the supervisor doing a foreground run for it, which the
 * CLI then reports (125) saying so.
 */
function assertCrashed(r: RunResult): void {
  if (r.code === 137) return;
  assert.equal(r.code, 125, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /supervisor/, "the error says what was lost");
}

const POINTS = ["after-state", "after-cgroup", "after-network", "after-mounts", "before-start"];

for (const point of POINTS) {
  rootTest(
    `tsbox killed at ${point}: ps tells the truth, rm -f cleans up, nothing is left`,
    async (root) => {
      const before = await snapshot();
      const r = await tsbox(
        [
          "run",
          "--network",
          "none",
          "--name",
          "victim",
          "busybox",
          "sh",
          "-c",
          "echo victim-ran; sleep 30",
        ],
        { root, env: { TSBOX_FAULT: point } },
      );
      assertCrashed(r);
      assert.doesNotMatch(r.stdout, /victim-ran/, "the container's command never ran");
      // A child cloned before the crash reads EOF on its sync pipe and exits.
      await until(
        "no container process",
        () => Promise.resolve(containerProcesses("sh -c echo victim-ran; sleep 30").length === 0),
      );
      const ps = await psAll(root);
      assert.deepEqual(Object.keys(ps), ["victim"]);
      assert.match(ps.victim!, /^(Created|Dead)$/, `ps -a: ${ps.victim}`);
      const d = await inspect(root, "victim");
      assert.equal(d.State.Running, false);
      assert.equal(d.State.Pid, 0);
      assert.ok(["created", "dead"].includes(d.State.Status), d.State.Status);
      const problems: string[] = [];
      if (!d.State.Error) {
        problems.push(
          `inspect .State.Error is empty: it should say why "victim" is ${d.State.Status}`,
        );
      }
      // `wait` answers (the container is not running) instead of blocking.
      const w = await Promise.race([
        tsbox(["wait", "victim"], { root }).then((x) => `exit ${x.code}: ${x.stdout.trim()}`),
        sleep(5000).then(() => "blocked"),
      ]);
      if (w === "blocked") problems.push("tsbox wait blocks forever on the crashed container");
      // Plain rm works too: nothing runs.
      const rm = await tsbox(["rm", "victim"], { root });
      if (rm.code !== 0) {
        problems.push(`tsbox rm (without -f) refused: ${rm.stderr.trim()}`);
        await tsbox(["rm", "-f", "victim"], { root, expect: 0 });
      }
      assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
      assert.deepEqual(
        [...Deno.readDirSync(`${root}/containers`)].map((e) => e.name),
        [],
        "no container directory left",
      );
      await assertNoLeaks(before);
      // The name is free again and a container runs normally.
      const again = await tsbox(
        ["run", "--rm", "--network", "none", "--name", "victim", "busybox", "echo", "fine"],
        { root, expect: 0 },
      );
      assert.equal(again.stdout, "fine\n");
      assert.deepEqual(problems, []);
    },
  );
}

rootTest("a container whose run crashed can still be started, then removed", async (root) => {
  for (const point of ["after-cgroup", "before-start"]) {
    const name = `crashed-${point}`;
    const r = await tsbox(
      ["run", "--network", "none", "--name", name, "busybox", "sleep", "30"],
      { root, env: { TSBOX_FAULT: point } },
    );
    assertCrashed(r);
    await tsbox(["start", name], { root, expect: 0 });
    const d = await inspect(root, name);
    assert.equal(d.State.Status, "running", point);
    assert.ok(alive(d.State.Pid), point);
    await tsbox(["rm", "-f", name], { root, expect: 0 });
    assert.ok(!alive(d.State.Pid), point);
  }
});

rootTest(
  "the supervisor killed while starting a container: a clear error, rm -f cleans up",
  async (root) => {
    const before = await snapshot();
    // The CLI passes its TSBOX_FAULT with the request: the supervisor dies midway.
    const cmd = "echo halfway-marker; sleep 30";
    const r = await tsbox(
      ["run", "-d", "--network", "none", "--name", "halfway", "busybox", "sh", "-c", cmd],
      { root, env: { TSBOX_FAULT: "before-start" } },
    );
    assert.equal(r.code, 125, r.stderr);
    await until(
      "no container process",
      () => Promise.resolve(containerProcesses(`sh -c ${cmd}`).length === 0),
    );
    const ps = await psAll(root);
    assert.match(ps.halfway ?? "", /^(Created|Dead)$/, JSON.stringify(ps));
    const d = await inspect(root, "halfway");
    assert.equal(d.State.Running, false);
    await tsbox(["rm", "-f", "halfway"], { root, expect: 0 });
    await assertNoLeaks(before);
    // A supervisor without the fault starts containers again.
    await tsbox(["run", "-d", "--network", "none", "--name", "next", "busybox", "sleep", "30"], {
      root,
      expect: 0,
    });
    assert.equal((await inspect(root, "next")).State.Status, "running");
    const problems: string[] = [];
    if (!/supervisor/.test(r.stderr)) {
      problems.push(`the CLI's error does not say what failed: ${r.stderr.trim()}`);
    }
    if (!d.State.Error) {
      problems.push("inspect .State.Error is empty: it should say why halfway is not running");
    }
    assert.deepEqual(problems, []);
  },
);

rootTest(
  "kill -9 of the supervisor while a container runs: ps stays true, rm -f cleans up",
  async (root) => {
    const before = await snapshot();
    await tsbox(["run", "-d", "--network", "none", "--name", "watched", "busybox", "sleep", "60"], {
      root,
      expect: 0,
    });
    const pid = (await inspect(root, "watched")).State.Pid;
    await killSupervisor(root);
    assert.ok(alive(pid));
    assert.match((await psAll(root)).watched!, /^Up /);
    await tsbox(["rm", "-f", "watched"], { root, expect: 0 });
    assert.ok(!alive(pid));
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
    await assertNoLeaks(before);
  },
);

rootTest(
  "kill -9 of a foreground run: its container keeps running and ps, stop and rm still work",
  async (root) => {
    const before = await snapshot();
    const fg = foreground(root, ["--name", "fg", "busybox", "sh", "-c", "echo ready; sleep 60"]);
    const fg2 = foreground(root, [
      "--name",
      "fg2",
      "busybox",
      "sh",
      "-c",
      "echo ready; sleep 1; exit 4",
    ]);
    try {
      await until(
        "both ready",
        () => Promise.resolve(fg.state.out.includes("ready") && fg2.state.out.includes("ready")),
      );
      const pid = (await inspect(root, "fg")).State.Pid;
      await fg.kill9();
      await fg2.kill9();
      await sleep(300);
      assert.ok(alive(pid), "the container does not die with its CLI");
      assert.match((await psAll(root)).fg!, /^Up /);
      // fg2 ends by itself with nobody watching: not shown running, and says why.
      await until("fg2 to end", async () => !(await psAll(root)).fg2!.startsWith("Up"));
      const d2 = await inspect(root, "fg2");
      assert.equal(d2.State.Running, false);
      assert.ok(["exited", "dead"].includes(d2.State.Status), d2.State.Status);
      if (d2.State.Status === "dead") assert.ok(d2.State.Error, "dead, and why");
      // stop works with nobody watching.
      await tsbox(["stop", "-t", "1", "fg"], { root, expect: 0 });
      assert.ok(!alive(pid));
      const d = await inspect(root, "fg");
      assert.equal(d.State.Running, false);
      assert.ok(["exited", "dead"].includes(d.State.Status), d.State.Status);
      await tsbox(["rm", "fg", "fg2"], { root, expect: 0 });
      assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
      await assertNoLeaks(before);
    } finally {
      await fg.kill9();
      await fg2.kill9();
      await fg.done();
      await fg2.done();
    }
  },
);

rootTest(
  "kill -9 of the supervisor during a foreground run: the CLI says so, the container lives on",
  async (root) => {
    const before = await snapshot();
    const fg = foreground(root, ["--name", "fgs", "busybox", "sh", "-c", "echo ready; sleep 60"]);
    try {
      await until("ready", () => Promise.resolve(fg.state.out.includes("ready")));
      const pid = (await inspect(root, "fgs")).State.Pid;
      await killSupervisor(root);
      const code = await Promise.race([
        fg.child.status.then((s) => s.code),
        sleep(10_000).then(() => "still running"),
      ]);
      assert.notEqual(code, "still running", "the CLI notices");
      assert.notEqual(code, 0);
      assert.match(fg.state.err, /supervisor/, "and says what happened");
      assert.ok(alive(pid), "the container outlives its supervisor");
      assert.match((await psAll(root)).fgs!, /^Up /);
      await tsbox(["rm", "-f", "fgs"], { root, expect: 0 });
      assert.ok(!alive(pid));
      await assertNoLeaks(before);
    } finally {
      await fg.kill9();
      await fg.done();
    }
  },
);

rootTest(
  "a host reboot (everything killed, run root deleted): containers exited, always and unless-stopped start again",
  async (root) => {
    const before = await snapshot();
    const d = (args: string[]) =>
      tsbox(["run", "-d", "--network", "none", ...args], { root, expect: 0 });
    await d(["--name", "web", "busybox", "sleep", "60"]);
    await d(["--name", "always", "--restart", "always", "busybox", "sleep", "60"]);
    await d(["--name", "unless", "--restart", "unless-stopped", "busybox", "sleep", "60"]);
    await d(["--name", "stopped", "--restart", "unless-stopped", "busybox", "sleep", "60"]);
    await tsbox(["stop", "-t", "0", "stopped"], { root, expect: 0 });
    await d(["--name", "finished", "busybox", "sh", "-c", "exit 2"]);
    await tsbox(["wait", "finished"], { root, expect: 0 });
    await tsbox(["create", "--network", "none", "--name", "unborn", "busybox", "true"], {
      root,
      expect: 0,
    });
    const fg = foreground(root, ["--name", "fg", "busybox", "sh", "-c", "echo ready; sleep 60"]);
    try {
      await until("fg ready", () => Promise.resolve(fg.state.out.includes("ready")));
      const pids = await Promise.all(
        ["web", "always", "unless", "fg"].map(async (n) =>
          (await inspect(root, n)).State.Pid as number
        ),
      );
      // The "reboot": the supervisor, the CLI and every container process die
      // at once (the supervisor first, so nothing records the exits), and the
      // tmpfs run root is empty afterwards.
      await killSupervisor(root);
      await fg.kill9();
      for (const p of pids) Deno.kill(p, "SIGKILL");
      await until("all dead", () => Promise.resolve(pids.every((p) => !alive(p))));
      await Deno.remove(`${root}/run`, { recursive: true });

      const ps = await psAll(root);
      // Docker restarts these when its daemon starts; tsbox when it next runs (this `ps`).
      for (const n of ["always", "unless"]) {
        await until(
          `${n} running again`,
          async () => (await inspect(root, n)).State.Status === "running",
          20_000,
        );
      }
      assert.match(ps.stopped!, /^Exited /, "a stopped unless-stopped container stays stopped");
      for (const n of ["web", "fg"]) {
        assert.match(ps[n]!, /^Exited \(\d+\) .* ago$/, `${n}: ${ps[n]}`);
        const s = (await inspect(root, n)).State;
        assert.equal(s.Status, "exited", n);
        assert.equal(s.Running, false, n);
        assert.equal(s.Dead, false, n);
        assert.equal(s.Pid, 0, n);
        assert.notEqual(s.FinishedAt, "0001-01-01T00:00:00Z", n);
      }
      assert.match(ps.finished!, /^Exited \(2\) /);
      assert.equal(ps.unborn, "Created");
      assert.equal(
        (await tsbox(["ps", "-q"], { root, expect: 0 })).stdout.trim().split("\n").length,
        2,
        "only always and unless running",
      );
      // Life goes on: containers start again, and everything can be removed.
      await tsbox(["start", "web"], { root, expect: 0 });
      assert.equal((await inspect(root, "web")).State.Status, "running");
      await tsbox(["rm", "-f", "web", "always", "unless", "stopped", "fg", "finished", "unborn"], {
        root,
        expect: 0,
      });
      assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
      await assertNoLeaks(before);
    } finally {
      await fg.kill9();
      await fg.done();
    }
  },
);
