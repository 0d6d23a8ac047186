// The supervisor's life at its edges: the hand-over when it exits idle (a
// command arriving then reaches the old one or a new one, never neither), one
// supervisor per state root even when the run root is deleted under it,
// restarts that were due when it was killed, exit codes nobody saw (never
// shown as 0), and callers in another network namespace (refused, by rule).

import assert from "node:assert/strict";
import { host, requires, rootTest, tsbox } from "./lib/harness.ts";
import { alive, fmt, runD, sleep, supervisors, until } from "./lib/cli.ts";
import { TestNetns, tsboxCommand } from "./lib/netns.ts";

/** The supervisor of `root`, once there is exactly one. */
async function theSupervisor(root: string): Promise<number> {
  const found = await until(
    "a supervisor",
    () => Promise.resolve(supervisors(root).length > 0 && supervisors(root)),
  );
  assert.equal(found.length, 1, `one supervisor per state root, found ${found.join(", ")}`);
  return found[0]!;
}

async function killSupervisor(root: string): Promise<void> {
  const sup = await theSupervisor(root);
  Deno.kill(sup, "SIGKILL");
  await until("the supervisor to die", () => Promise.resolve(!alive(sup)));
}

rootTest("a command sent as the supervisor exits idle reaches a supervisor", async (root) => {
  // The loop: the supervisor exits 2 s after its last work; a command
  // 2.0-2.8 s after the previous one lands in its hand-over.
  for (const ms of [2000, 2100, 2200, 2300, 2400, 2500, 2600, 2700, 2800, 2250, 2350]) {
    await tsbox(["run", "--rm", "--network", "none", "busybox", "true"], { root, expect: 0 });
    await sleep(ms);
    const r = await tsbox(["run", "--rm", "--network", "none", "busybox", "echo", "ok"], { root });
    assert.equal(r.code, 0, `after ${ms} ms: ${r.stderr}`);
    assert.equal(r.stdout, "ok\n");
    assert.ok(supervisors(root).length <= 1, "never two");
  }
});

rootTest("one supervisor per state root, even with its run root deleted", async (root) => {
  await runD(root, "--name", "first", "busybox", "sleep", "60");
  const sup = await theSupervisor(root);
  await Deno.remove(`${root}/run`, { recursive: true });
  // A new CLI finds no socket: the supervisor makes it again, nobody else starts.
  await runD(root, "--name", "second", "busybox", "sleep", "60");
  assert.deepEqual(supervisors(root), [sup]);
  const second = Number(await fmt(root, "second", "{{.State.Pid}}"));
  assert.match(
    Deno.readTextFileSync(`/proc/${second}/status`),
    new RegExp(`^PPid:\\s+${sup}$`, "m"),
    "its child",
  );
  await tsbox(["rm", "-f", "first", "second"], { root, expect: 0 });
  await until("the supervisor to exit", () => Promise.resolve(!alive(sup)), 15_000);
  // And the next command is served at once by a new one.
  await tsbox(["run", "--rm", "--network", "none", "busybox", "true"], { root, expect: 0 });
});

rootTest(
  "killed while a restart was due: the restart happens, with no run -d to start a supervisor",
  async (root) => {
    await runD(
      root,
      "--name",
      "bouncer",
      "--restart",
      "always",
      "busybox",
      "sh",
      "-c",
      "echo run; exit 3",
    );
    const runs = async () =>
      (await tsbox(["logs", "bouncer"], { root })).stdout.split("\n").length - 1;
    await until("5 runs", async () => (await runs()) >= 5, 15_000);
    await killSupervisor(root); // during a delay of 3.2 s or more
    const ps = await tsbox(["ps", "-a", "--format", "{{.Names}} {{.Status}}"], {
      root,
      expect: 0,
    });
    assert.doesNotMatch(ps.stdout, /bouncer Exited/, "still due to restart");
    const before = await runs();
    await until("another run", async () => (await runs()) > before, 90_000);
    await tsbox(["rm", "-f", "bouncer"], { root, expect: 0 });
  },
);

rootTest("an exit nobody saw is never shown as code 0; always restarts it", async (root) => {
  await runD(root, "--name", "plain", "busybox", "sh", "-c", "sleep 1; exit 3");
  await runD(
    root,
    "--name",
    "keeper",
    "--restart",
    "always",
    "busybox",
    "sh",
    "-c",
    "if [ -e /again ]; then exec sleep 60; fi; touch /again; sleep 1; exit 3",
  );
  await killSupervisor(root);
  const plain = Number(await fmt(root, "plain", "{{.State.Pid}}"));
  await until("plain to end", () => Promise.resolve(!alive(plain)));
  await sleep(1500);
  const ps = await tsbox(["ps", "-a", "--format", "{{.Names}}|{{.Status}}"], {
    root,
    expect: 0,
  });
  assert.doesNotMatch(ps.stdout, /\(0\)/, ps.stdout);
  assert.notEqual(await fmt(root, "plain", "{{.State.ExitCode}}"), "0");
  assert.match(await fmt(root, "plain", "{{.State.Error}}"), /no tsbox process watched it/);
  // `ps` started a supervisor for keeper's restart.
  await until(
    "keeper running again",
    async () => (await fmt(root, "keeper", "{{.State.Status}}")) === "running",
    30_000,
  );
  assert.equal(await fmt(root, "keeper", "{{.RestartCount}}"), "1");
  await tsbox(["rm", "-f", "plain", "keeper"], { root, expect: 0 });
});

Deno.test({
  name: "a caller in another network namespace than the supervisor is refused, clearly",
  ...requires("root"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { makeRoot, cleanupRoot, snapshot, assertNoLeaks } = await import("./lib/harness.ts");
    const before = await snapshot();
    const root = await makeRoot();
    const ns = await TestNetns.create("rel");
    try {
      await runD(root, "--name", "here", "busybox", "sleep", "60");
      const sup = await theSupervisor(root);
      const from = (args: string[]) =>
        host("env", [`TSBOX_ROOT=${root}`, "nsenter", ...tsboxCommand(ns, args)], {
          check: false,
        });
      for (
        const args of [
          ["run", "-d", "--network", "none", "busybox", "true"],
          ["attach", "here"],
          ["network", "create", "elsewhere"],
        ]
      ) {
        const r = await from(args);
        assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /runs in another network namespace/);
        assert.equal(r.stderr.trim().split("\n").length, 1);
      }
      // Reading works from anywhere.
      assert.match((await from(["ps"])).stdout, /here/);
      assert.deepEqual(supervisors(root), [sup]);
      assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout.split("\n").length, 2);
      assert.equal(
        (await tsbox(["network", "ls", "-q"], { root, expect: 0 })).stdout.includes("elsewhere"),
        false,
      );
    } finally {
      await ns.delete();
      await cleanupRoot(root);
    }
    await assertNoLeaks(before);
  },
});
