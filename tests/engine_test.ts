// The engine's contract with its front ends (issue 10 part 1): a request is
// checked before anything starts (a bad flag does not even launch a
// supervisor), `run` and `run -d` create the same way, and an error that
// happened in the supervisor reaches the CLI as the same chain of causes
// (syscall, errno, path), with the same exit code, as if it happened there.

import assert from "node:assert/strict";
import { rootTest, tsbox } from "./lib/harness.ts";
import { inspect, runD, supervisors } from "./lib/cli.ts";

rootTest("bad flags are refused by the CLI itself: no supervisor, no record", async (root) => {
  const cases: [string[], RegExp][] = [
    [["--memory", "64x"], /invalid size: '64x'/],
    [["--restart", "always", "--rm"], /conflicting options: --restart and --rm/],
    [["-p", "70000:80"], /out of range/],
    [["--tmpfs", "relative"], /must be absolute/],
    [["--sysctl", "kernel.hostname=x"], /not allowed/],
    [["--cap-add", "NOT_A_CAP"], /invalid capability/],
  ];
  for (const detach of [false, true]) {
    for (const [flags, message] of cases) {
      const args = ["run", ...(detach ? ["-d"] : []), "--network", "none", ...flags, "busybox"];
      const r = await tsbox([...args, "true"], { root });
      assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
      assert.deepEqual(supervisors(root), [], `${flags.join(" ")} started no supervisor`);
    }
  }
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout.trim(), "");
});

rootTest("run and run -d report a failure in the supervisor as the same chain", async (root) => {
  // The working directory is a file in the image: making it fails while the root is prepared.
  const args = ["--network", "none", "-w", "/bin/busybox", "busybox", "true"];
  const fg = await tsbox(["run", "--rm", ...args], { root });
  const bg = await tsbox(["run", "-d", "--rm", ...args], { root });
  for (const r of [fg, bg]) {
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /"\/bin\/busybox" in the container root: ENOTDIR \(Not a directory\)/);
  }
  assert.equal(
    fg.stderr.replace(/[0-9a-f]{12}/g, "ID"),
    bg.stderr.replace(/[0-9a-f]{12}/g, "ID"),
  );
  // A missing command: 127 both ways, as docker run.
  for (const d of [[], ["-d"]]) {
    const r = await tsbox(["run", ...d, "--rm", "--network", "none", "busybox", "nosuch"], {
      root,
    });
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /exec "nosuch": executable file not found in \$PATH/);
  }
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout.trim(), "");
});

rootTest("run -d stores the typed configuration inspect shows", async (root) => {
  const id = await runD(
    root,
    "--name",
    "typed",
    "--restart",
    "on-failure:4",
    "-l",
    "team=core",
    "-i",
    "busybox",
    "sleep",
    "100",
  );
  const doc = await inspect(root, id);
  assert.deepEqual(doc.HostConfig.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 4 });
  assert.equal(doc.HostConfig.NetworkMode, "none");
  assert.deepEqual(doc.Config.Labels, { team: "core" });
  assert.equal(doc.Config.OpenStdin, true);
  assert.equal(doc.State.Status, "running");
  await tsbox(["rm", "-f", id], { root, expect: 0 });
});

rootTest("run -d --trace prints the steps and keeps them for tsbox ui", async (root) => {
  const r = await tsbox(["run", "-d", "--trace", "--network", "none", "busybox", "sleep", "30"], {
    root,
    expect: 0,
  });
  const id = r.stdout.trim();
  assert.match(r.stderr, /execve/);
  const saved = JSON.parse(await Deno.readTextFile(`${root}/containers/${id}/trace.json`));
  assert.ok(saved.steps.length > 10, "the start's steps are kept");
  await tsbox(["rm", "-f", id], { root, expect: 0 });
});
