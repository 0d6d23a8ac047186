// Races between tsbox processes: `rm -f` while the supervisor records the
// same container's exit (teardown has one owner per resource, and what is
// already gone is not a failure), and what a removal leaves: nothing, the
// run directory of the container's FIFOs included.

import assert from "node:assert/strict";
import { rootTest, tsbox } from "./lib/harness.ts";
import { runD } from "./lib/cli.ts";

rootTest("rm removes the container's run directory (its FIFOs) too", async (root) => {
  const ids = [
    await runD(root, "busybox", "true"),
    await runD(root, "-i", "busybox", "cat"),
    await runD(root, "-t", "busybox", "sleep", "60"),
  ];
  await tsbox(["wait", ids[0]!], { root, expect: 0 });
  for (const id of ids) {
    assert.ok(Deno.statSync(`${root}/run/containers/${id}`).isDirectory, "made for its FIFOs");
  }
  await tsbox(["rm", "-f", ...ids], { root, expect: 0 });
  assert.deepEqual([...Deno.readDirSync(`${root}/run/containers`)].map((e) => e.name), []);
  // --rm too.
  const r = await tsbox(["run", "-d", "--rm", "--network", "none", "busybox", "true"], {
    root,
    expect: 0,
  });
  const id = r.stdout.trim();
  for (let i = 0; i < 100 && (await tsbox(["ps", "-aq"], { root })).stdout !== ""; i++) {
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.throws(() => Deno.statSync(`${root}/run/containers/${id}`), Deno.errors.NotFound);
});

rootTest(
  "rm -f of many running containers while the supervisor records their exits: every rm works",
  async (root) => {
    const n = 60;
    const ids: string[] = [];
    for (let i = 0; i < n; i += 10) {
      ids.push(
        ...await Promise.all(
          Array.from({ length: Math.min(10, n - i) }, () => runD(root, "busybox", "sleep", "60")),
        ),
      );
    }
    // Each rm -f kills its container, which the supervisor notices at once and
    // tears down while the CLI does the same: they meet on the same cgroup.
    const results = await Promise.all(ids.map((id) => tsbox(["rm", "-f", id], { root })));
    const failed = results.map((r, i) => ({ ...r, id: ids[i]! })).filter((r) => r.code !== 0);
    assert.deepEqual(failed.map((r) => `${r.id.slice(0, 12)}: ${r.stderr.trim()}`), []);
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
    assert.deepEqual([...Deno.readDirSync(`${root}/containers`)], []);
  },
);
