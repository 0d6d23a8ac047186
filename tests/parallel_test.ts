// Parallel use of one state root: 50 `run -d` at once (while `ps` and
// `inspect` read), then 50 `rm -f` at once. All succeed, names are distinct,
// one supervisor is the parent of all 50, nothing is left, and no command
// reports "database is locked". Racing for one name: exactly one wins.

import assert from "node:assert/strict";
import { rootTest, type RunResult, tsbox } from "./lib/harness.ts";
import { alive, ppid, runD, sleep, supervisors } from "./lib/cli.ts";

const N = 50;

function assertAllOk(what: string, results: RunResult[]): void {
  const failed = results.map((r, i) => ({ i, ...r })).filter((r) => r.code !== 0);
  assert.deepEqual(
    failed.map((r) => `#${r.i}: exit ${r.code}: ${r.stderr.trim()}`),
    [],
    `${what}: ${failed.length} of ${results.length} failed`,
  );
}

function assertNeverLocked(results: RunResult[]): void {
  const locked = results.filter((r) => /database is locked|SQLITE_BUSY/i.test(r.stdout + r.stderr));
  assert.deepEqual(locked.map((r) => r.stderr.trim()), [], 'no "database is locked"');
}

rootTest(
  `${N} concurrent run -d, then ${N} concurrent rm -f: all succeed, nothing left`,
  async (root) => {
    const all: RunResult[] = [];
    // Readers racing the writers.
    let running = true;
    const readers = (async () => {
      while (running) {
        all.push(
          ...(await Promise.all([
            tsbox(["ps", "-a"], { root }),
            tsbox(["ps", "-aq"], { root }),
          ])),
        );
      }
    })();
    const t0 = Date.now();
    const runs = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        // Half named by us, half named by tsbox (random names must not collide).
        tsbox([
          "run",
          "-d",
          "--network",
          "none",
          ...(i % 2 ? ["--name", `par${i}`] : []),
          "busybox",
          "sleep",
          "300",
        ], { root })),
    );
    const tRun = Date.now() - t0;
    running = false;
    await readers;
    all.push(...runs);
    assertAllOk("run -d", runs);
    const ids = runs.map((r) => r.stdout.trim());
    assert.equal(new Set(ids).size, N, "distinct ids");
    const ps = await tsbox(["ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}}"], {
      root,
      expect: 0,
    });
    const rows = ps.stdout.trim().split("\n").map((l) => l.split(" "));
    assert.equal(rows.length, N);
    assert.deepEqual(rows.map((r) => r[0]).sort(), [...ids].sort());
    assert.equal(new Set(rows.map((r) => r[1])).size, N, "distinct names");
    assert.ok(rows.every((r) => r[2] === "running"), ps.stdout);
    for (let i = 1; i < N; i += 2) assert.ok(rows.some((r) => r[1] === `par${i}`), `par${i}`);
    // One supervisor, parent of all of them.
    const sups = supervisors(root);
    assert.equal(sups.length, 1, `one supervisor, found ${sups.join(", ")}`);
    const inspect = await tsbox(["inspect", "-f", "{{.State.Pid}}", ...ids], { root, expect: 0 });
    const pids = inspect.stdout.trim().split("\n").map(Number);
    assert.equal(pids.length, N);
    for (const p of pids) {
      assert.ok(alive(p), `pid ${p}`);
      assert.equal(ppid(p), sups[0], `pid ${p}'s parent`);
    }

    const t1 = Date.now();
    const rms = await Promise.all(ids.map((id) => tsbox(["rm", "-f", id], { root })));
    const tRm = Date.now() - t1;
    all.push(...rms);
    assertAllOk("rm -f", rms);
    rms.forEach((r, i) => assert.equal(r.stdout, `${ids[i]}\n`));
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
    for (const p of pids) assert.ok(!alive(p), `pid ${p} is gone`);
    assert.deepEqual(
      [...Deno.readDirSync(`${root}/containers`)],
      [],
      "no container directory left",
    );
    assertNeverLocked(all);
    const deadline = Date.now() + 15_000;
    while (supervisors(root).length && Date.now() < deadline) await sleep(100);
    assert.deepEqual(supervisors(root), [], "the supervisor exits once they are gone");
    console.error(`${N} run -d: ${tRun} ms; ${N} rm -f: ${tRm} ms`);
  },
);

rootTest("concurrent runs with one name: exactly one wins, the others get 125", async (root) => {
  const runs = await Promise.all(
    Array.from(
      { length: 10 },
      () =>
        tsbox(["run", "-d", "--network", "none", "--name", "only", "busybox", "sleep", "60"], {
          root,
        }),
    ),
  );
  const won = runs.filter((r) => r.code === 0);
  assert.equal(won.length, 1, runs.map((r) => `${r.code} ${r.stderr.trim()}`).join("\n"));
  for (const r of runs.filter((r) => r.code !== 0)) {
    assert.equal(r.code, 125);
    assert.match(r.stderr, /the container name "\/only" is already in use/);
  }
  assertNeverLocked(runs);
  const ps = await tsbox(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}}"], {
    root,
    expect: 0,
  });
  assert.equal(ps.stdout, `${won[0]!.stdout.trim()} only running\n`);
});

rootTest(
  "concurrent stop, kill, restart and exec on the same containers all settle",
  async (root) => {
    const names = Array.from({ length: 8 }, (_, i) => `c${i}`);
    await Promise.all(
      names.map((n) =>
        runD(
          root,
          "--name",
          n,
          "busybox",
          "sh",
          "-c",
          "trap 'exit 0' TERM; while :; do sleep 0.1; done",
        )
      ),
    );
    const ops = await Promise.all(names.flatMap((n, i) => [
      tsbox(["exec", n, "true"], { root }).then((r) => ({ args: `exec ${n} true`, ...r })),
      tsbox([i % 2 ? "restart" : "stop", "-t", "2", n], { root }).then((r) => ({
        args: `${i % 2 ? "restart" : "stop"} ${n}`,
        ...r,
      })),
      tsbox(["inspect", n], { root }).then((r) => ({ args: `inspect ${n}`, ...r })),
    ]));
    assertNeverLocked(ops);
    const ps = await tsbox(["ps", "-a", "--format", "{{.Names}} {{.State}}"], { root, expect: 0 });
    const states = Object.fromEntries(ps.stdout.trim().split("\n").map((l) => l.split(" ")));
    names.forEach((n, i) => assert.equal(states[n], i % 2 ? "running" : "exited", n));
    // stop, restart and inspect always succeed. An exec that loses the race
    // with a stop either was killed with the container (137) or says the
    // container is not running (exit 1), not a raw errno.
    const failed = ops.filter((r) =>
      r.code !== 0 &&
      !(r.args.startsWith("exec") &&
        (r.code === 137 || (r.code === 1 && /is not running/.test(r.stderr))))
    );
    assert.deepEqual(failed.map((r) => `tsbox ${r.args}: exit ${r.code}: ${r.stderr.trim()}`), []);
  },
);

rootTest(
  "wait under load prints each container's own exit code, and no false error",
  async (root) => {
    // Many containers exiting at once keep the supervisor busy: `wait` must not
    // decide before the supervisor has recorded the exit.
    const names = Array.from({ length: 16 }, (_, i) => `w${i}`);
    const waits = await Promise.all(names.map(async (n, i) => {
      await runD(root, "--name", n, "busybox", "sh", "-c", `sleep 0.5; exit ${i + 1}`);
      return (await tsbox(["wait", n], { root, expect: 0 })).stdout.trim();
    }));
    const states = await tsbox(
      [
        "inspect",
        "-f",
        "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.State.Error}}",
        ...names,
      ],
      { root, expect: 0 },
    );
    assert.deepEqual(
      states.stdout.trim().split("\n").map((l) => l.trimEnd()),
      names.map((n, i) => `/${n} exited ${i + 1}`),
    );
    assert.deepEqual(waits, names.map((_, i) => String(i + 1)));
  },
);
