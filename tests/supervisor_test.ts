// The supervisor of detached containers: one process per state root, the
// parent of every detached container's first process, started on demand and
// gone when nothing is left to watch. Its death (kill -9) never kills or
// loses a container: containers keep running, `ps` tells the truth, the next
// `run -d` starts a supervisor that adopts them (their output included), and
// `rm -f` still cleans them up. Observed from the host through /proc.

import assert from "node:assert/strict";
import { cleanupRoot, makeRoot, rootTest, tsbox } from "./lib/harness.ts";
import { alive, fmt, ppid, runD, sleep, supervisors, until } from "./lib/cli.ts";

/**
 * Live supervisors of state root `root`: processes whose command line runs
 * `main.ts supervise` (or a compiled tsbox's `supervise`) with TSBOX_ROOT=root
 * in their environment. Other engineers' supervisors have other roots.
 */
/** The one supervisor of `root` (fails if there are several or none). */
async function theSupervisor(root: string): Promise<number> {
  const found = await until(
    "a supervisor",
    () => Promise.resolve(supervisors(root).length > 0 && supervisors(root)),
  );
  assert.equal(found.length, 1, `one supervisor per state root, found ${found.join(", ")}`);
  return found[0]!;
}

/** Waits for `root`'s supervisor to exit; returns how long that took. */
async function supervisorGone(root: string, ms = 15_000): Promise<number> {
  const t0 = Date.now();
  await until("the supervisor to exit", () => Promise.resolve(supervisors(root).length === 0), ms);
  return Date.now() - t0;
}

rootTest(
  "one supervisor per state root, parent of every detached container; gone when idle",
  async (root) => {
    assert.deepEqual(supervisors(root), [], "none before the first run -d");
    const ids = await Promise.all(
      ["sa", "sb", "sc"].map((n) => runD(root, "--name", n, "busybox", "sleep", "60")),
    );
    assert.equal(ids.length, 3);
    const sup = await theSupervisor(root);
    assert.equal(ppid(sup), 1, "it runs on its own (its own session), not as a child of a CLI");
    assert.equal(
      Number(Deno.readTextFileSync(`/proc/${sup}/stat`).split(") ")[1]!.split(" ")[3]),
      sup,
      "session leader",
    );
    for (const n of ["sa", "sb", "sc"]) {
      const pid = Number(await fmt(root, n, "{{.State.Pid}}"));
      assert.equal(ppid(pid), sup, `${n}'s first process is the supervisor's child`);
    }
    // A container that exits by itself is reaped and recorded by it.
    await runD(root, "--name", "quick", "busybox", "sh", "-c", "exit 6");
    assert.equal((await tsbox(["wait", "quick"], { root, expect: 0 })).stdout.trim(), "6");
    assert.deepEqual(supervisors(root), [sup], "still the same supervisor");
    await tsbox(["stop", "-t", "1", "sa", "sb"], { root, expect: 0 });
    await sleep(3000);
    assert.deepEqual(supervisors(root), [sup], "stays while a container is left to watch");
    await tsbox(["rm", "-f", "sc"], { root, expect: 0 });
    const took = await supervisorGone(root);
    console.error(`supervisor exited ${took} ms after the last container`);
    // The next run -d starts a new one.
    const d = await runD(root, "--name", "sd", "busybox", "sleep", "60");
    const sup2 = await theSupervisor(root);
    assert.notEqual(sup2, sup);
    assert.equal(ppid(Number(await fmt(root, d, "{{.State.Pid}}"))), sup2);
    await tsbox(["rm", "-f", "sd"], { root, expect: 0 });
    await supervisorGone(root);
  },
);

rootTest(
  "two state roots have two supervisors, each the parent of its own containers",
  async (root) => {
    const other = await makeRoot();
    try {
      await runD(root, "--name", "here", "busybox", "sleep", "60");
      await runD(other, "--name", "there", "busybox", "sleep", "60");
      const a = await theSupervisor(root), b = await theSupervisor(other);
      assert.notEqual(a, b);
      assert.equal(ppid(Number(await fmt(root, "here", "{{.State.Pid}}"))), a);
      assert.equal(ppid(Number(await fmt(other, "there", "{{.State.Pid}}"))), b);
      assert.equal(
        (await tsbox(["ps", "-a", "--format", "{{.Names}}"], { root, expect: 0 })).stdout,
        "here\n",
      );
      await tsbox(["rm", "-f", "there"], { root: other, expect: 0 });
      await supervisorGone(other);
      assert.deepEqual(supervisors(root), [a], "the other root's supervisor is untouched");
    } finally {
      await cleanupRoot(other);
    }
  },
);

rootTest(
  "kill -9 of the supervisor: containers keep running, ps tells the truth, the next run -d adopts them",
  async (root) => {
    // 80 numbered lines, 10 a second, then quiet: lines written while no
    // supervisor runs wait in the log FIFO for the next one.
    await runD(
      root,
      "--name",
      "counter",
      "busybox",
      "sh",
      "-c",
      "i=0; while [ $i -lt 80 ]; do echo line$i; i=$((i+1)); sleep 0.1; done; exec sleep 60",
    );
    await runD(root, "--name", "plain", "busybox", "sleep", "60");
    const counter = Number(await fmt(root, "counter", "{{.State.Pid}}"));
    const plain = Number(await fmt(root, "plain", "{{.State.Pid}}"));
    const sup = await theSupervisor(root);
    await until(
      "a few lines",
      async () => (await tsbox(["logs", "counter"], { root })).stdout.includes("line3\n"),
    );
    Deno.kill(sup, "SIGKILL");
    await until("the supervisor to die", () => Promise.resolve(!alive(sup)));
    await sleep(500);
    assert.ok(alive(counter) && alive(plain), "the containers outlive their supervisor");
    const ps = await tsbox(["ps", "--format", "{{.Names}} {{.Status}}"], { root, expect: 0 });
    assert.match(ps.stdout, /^counter Up /m);
    assert.match(ps.stdout, /^plain Up /m);
    assert.equal(await fmt(root, "plain", "{{.State.Status}} {{.State.Pid}}"), `running ${plain}`);
    // Commands that need no supervisor work without one.
    assert.equal(
      (await tsbox(["exec", "plain", "echo", "hi"], { root, expect: 0 })).stdout,
      "hi\n",
    );
    await tsbox(["rm", "-f", "plain"], { root, expect: 0 });
    assert.ok(!alive(plain), "rm -f killed it");
    // The next run -d starts a new supervisor, which adopts "counter".
    await runD(root, "--name", "trigger", "busybox", "sleep", "60");
    const sup2 = await theSupervisor(root);
    assert.notEqual(sup2, sup);
    assert.ok(alive(counter));
    assert.equal(
      await fmt(root, "counter", "{{.State.Status}} {{.State.Pid}}"),
      `running ${counter}`,
    );
    // No line lost or doubled: the ones written with no supervisor are in the log too.
    const lines = await until("all 80 lines in the log", async () => {
      const l = (await tsbox(["logs", "counter"], { root })).stdout.trim().split("\n");
      return l.length >= 80 && l;
    }, 20_000);
    assert.deepEqual(lines, Array.from({ length: 80 }, (_, i) => `line${i}`));
    await tsbox(["rm", "-f", "counter", "trigger"], { root, expect: 0 });
    assert.ok(!alive(counter));
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
    await supervisorGone(root);
  },
);

rootTest(
  "a container that ends while its supervisor is dead, or after adoption, is not shown running",
  async (root) => {
    await runD(root, "--name", "orphan", "busybox", "sleep", "60");
    await runD(root, "--name", "adoptee", "busybox", "sh", "-c", "sleep 2; exit 3");
    const sup = await theSupervisor(root);
    const orphan = Number(await fmt(root, "orphan", "{{.State.Pid}}"));
    Deno.kill(sup, "SIGKILL");
    await until("the supervisor to die", () => Promise.resolve(!alive(sup)));
    // orphan dies while nobody watches it.
    Deno.kill(orphan, "SIGKILL");
    await until("orphan to die", () => Promise.resolve(!alive(orphan)));
    const st = await fmt(root, "orphan", "{{.State.Status}}|{{.State.Running}}|{{.State.Error}}");
    const [status, running, error] = st.split("|");
    assert.equal(running, "false", st);
    assert.ok(status === "exited" || status === "dead", st);
    if (status === "dead") assert.notEqual(error, "", "a dead container says why");
    assert.doesNotMatch(
      (await tsbox(["ps", "-a", "--format", "{{.Names}} {{.Status}}"], { root, expect: 0 })).stdout,
      /^orphan Up/m,
    );
    const orphanId = await fmt(root, "orphan", "{{.Id}}");
    assert.ok(
      !(await tsbox(["ps", "-q"], { root, expect: 0 })).stdout.includes(orphanId.slice(0, 12)),
      "ps (running containers) does not list it",
    );
    // adoptee ends after a new supervisor adopted it.
    await runD(root, "--name", "trigger", "busybox", "sleep", "60");
    await theSupervisor(root);
    const code = await tsbox(["wait", "adoptee"], { root, expect: 0 });
    assert.match(code.stdout, /^\d+\n$/);
    const ad = await fmt(root, "adoptee", "{{.State.Status}}|{{.State.Running}}|{{.State.Error}}");
    const [adStatus, adRunning, adError] = ad.split("|");
    assert.equal(adRunning, "false");
    assert.ok(adStatus === "exited" || adStatus === "dead", ad);
    if (adStatus === "dead") assert.notEqual(adError, "", "a dead container says why");
    // Both can be removed without -f: nothing runs.
    await tsbox(["rm", "orphan", "adoptee"], { root, expect: 0 });
    await tsbox(["rm", "-f", "trigger"], { root, expect: 0 });
    await supervisorGone(root);
  },
);

rootTest("an adopted --restart always container is restarted when it exits", async (root) => {
  const script = "if [ -e /first ]; then echo second; exec sleep 60; fi; " +
    "touch /first; echo first; sleep 2; exit 0";
  await runD(root, "--name", "svc", "--restart", "always", "busybox", "sh", "-c", script);
  await until(
    "the first run",
    async () => (await tsbox(["logs", "svc"], { root })).stdout === "first\n",
  );
  const sup = await theSupervisor(root);
  Deno.kill(sup, "SIGKILL");
  await until("the supervisor to die", () => Promise.resolve(!alive(sup)));
  await runD(root, "--name", "trigger", "busybox", "sleep", "60");
  await theSupervisor(root);
  // Until it has run again, or has ended for good.
  const end = await until("the adopted run to end", async () => {
    const logs = (await tsbox(["logs", "svc"], { root })).stdout;
    const st = await fmt(root, "svc", "{{.State.Status}} {{.RestartCount}} {{.State.Error}}");
    return (logs === "first\nsecond\n" || /^(exited|dead) /.test(st)) && { logs, st };
  }, 15_000);
  assert.equal(end.logs, "first\nsecond\n", `no restart: ${end.st}`);
  assert.equal(await fmt(root, "svc", "{{.State.Status}} {{.RestartCount}}"), "running 1");
});

rootTest(
  "logs survive the supervisor's restart of a container: lines before and after",
  async (root) => {
    const script =
      "if [ -e /again ]; then echo after-restart; echo err-after >&2; exec sleep 60; fi; " +
      "touch /again; echo before-restart; echo err-before >&2; exit 1";
    await runD(
      root,
      "--name",
      "phoenix",
      "--restart",
      "on-failure:1",
      "busybox",
      "sh",
      "-c",
      script,
    );
    // Polled through `logs` only (no state changes).
    const r = await until("both runs in the logs", async () => {
      const l = await tsbox(["logs", "phoenix"], { root });
      return l.stdout === "before-restart\nafter-restart\n" && l;
    }, 15_000);
    assert.equal(r.stderr, "err-before\nerr-after\n");
    assert.equal(await fmt(root, "phoenix", "{{.State.Status}} {{.RestartCount}}"), "running 1");
    const sup = await theSupervisor(root);
    assert.equal(
      ppid(Number(await fmt(root, "phoenix", "{{.State.Pid}}"))),
      sup,
      "restarted as its child",
    );
    const t = (await tsbox(["logs", "-t", "phoenix"], { root, expect: 0 })).stdout.trim().split(
      "\n",
    );
    assert.equal(t.length, 2);
    assert.ok(t[0]!.split(" ")[0]! <= t[1]!.split(" ")[0]!, "in the order written");
  },
);

rootTest(
  "a container waiting out its restart delay when the supervisor dies is restarted by the next one",
  async (root) => {
    // Each run exits at once; after the 5th the supervisor waits 100 ms * 2^5 = 3.2 s.
    await runD(
      root,
      "--name",
      "bouncer",
      "--restart",
      "always",
      "busybox",
      "sh",
      "-c",
      "echo run; exit 1",
    );
    const runs = async () =>
      (await tsbox(["logs", "bouncer"], { root })).stdout.split("\n").length - 1;
    await until("5 runs", async () => (await runs()) >= 5, 15_000);
    const sup = await theSupervisor(root);
    Deno.kill(sup, "SIGKILL"); // during the 3.2 s delay
    await until("the supervisor to die", () => Promise.resolve(!alive(sup)));
    const before = await runs();
    await runD(root, "--name", "trigger", "busybox", "sleep", "60");
    await theSupervisor(root);
    // Observed through logs only: ps and inspect would mark it dead (see the restart-delay test).
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await runs()) <= before) await sleep(200);
    assert.ok((await runs()) > before, `still ${before} runs: the restart policy was dropped`);
  },
);

rootTest(
  "the supervisor does not exit while a restart is pending: on-failure:5 runs 6 times",
  async (root) => {
    // Delays double from 200 ms: the last one (3.2 s) outlasts the idle timeout.
    await runD(
      root,
      "--name",
      "crashy",
      "--restart",
      "on-failure:5",
      "busybox",
      "sh",
      "-c",
      "echo run; exit 1",
    );
    const runs = async () =>
      (await tsbox(["logs", "crashy"], { root })).stdout.split("\n").length - 1;
    // Observed through logs only: ps and inspect would mark it dead (see the restart-delay test).
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await runs()) < 6) await sleep(200);
    const n = await runs();
    assert.equal(n, 6, `${n} runs; supervisors now: ${supervisors(root).join(", ") || "none"}`);
    const final = await until("crashy to give up", async () => {
      const s = await fmt(
        root,
        "crashy",
        "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}",
      );
      return !/^(running|restarting) /.test(s) && s;
    });
    assert.equal(final, "exited 5 1");
    await supervisorGone(root);
  },
);
