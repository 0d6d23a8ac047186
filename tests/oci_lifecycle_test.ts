// OCI conformance: the lifecycle (runtime.md "Lifecycle" and "Operations")
// and its errors, as containerd's shim and Podman drive it: create leaves the
// process waiting and the pid file written; start runs it; state follows;
// kill, delete, and the refusals (start twice, delete a running container,
// unknown id, bad config.json) with exit 1 and an "error" line in the JSON log.

import assert from "node:assert/strict";
import {
  IS_RUNC,
  logErrors,
  makeBundle,
  oci,
  ociDetached,
  ociTest,
  runBundle,
  state,
  waitStatus,
} from "./oci/lib.ts";

ociTest("create leaves the process waiting; start runs it; state follows", async (ctx) => {
  const id = ctx.id();
  const bundle = await makeBundle(ctx, id, ["sh", "-c", "echo started; sleep 100"]);
  const out = `${ctx.dir}/out`;
  const code = await ociDetached(
    ctx,
    ["create", "--bundle", bundle, "--pid-file", `${bundle}/pid`, id],
    out,
  );
  assert.equal(code, 0, await Deno.readTextFile(out).catch(() => ""));
  const pid = Number(await Deno.readTextFile(`${bundle}/pid`));
  const created = await state(ctx, id);
  assert.equal(created.status, "created");
  assert.equal(created.id, id);
  assert.equal(created.pid, pid);
  assert.equal(created.bundle, bundle);
  assert.equal(created.ociVersion.split(".")[0], "1");
  // The host sees the process in the container's namespaces before start.
  assert.notEqual(Deno.readLinkSync(`/proc/${pid}/ns/pid`), Deno.readLinkSync("/proc/self/ns/pid"));
  assert.equal(await Deno.readTextFile(out), "", "nothing ran before start");

  assert.equal((await oci(ctx, ["start", id])).code, 0);
  const running = await waitStatus(ctx, id, "running");
  assert.equal(running.pid, pid);
  for (let i = 0; i < 50 && !(await Deno.readTextFile(out)).includes("started"); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await Deno.readTextFile(out), "started\n");

  assert.equal((await oci(ctx, ["kill", id, "KILL"])).code, 0);
  await waitStatus(ctx, id, "stopped");
  assert.equal((await oci(ctx, ["delete", id])).code, 0);
  ctx.ids.delete(id);
  const gone = await oci(ctx, ["state", id]);
  assert.equal(gone.code, 1);
});

ociTest(
  "start twice, delete while running, kill by number: refusals and transitions",
  async (ctx) => {
    const id = ctx.id();
    const bundle = await makeBundle(ctx, id, ["sleep", "100"]);
    assert.equal(await ociDetached(ctx, ["create", "--bundle", bundle, id], `${ctx.dir}/out`), 0);
    assert.equal((await oci(ctx, ["start", id])).code, 0);
    const again = await oci(ctx, ["start", id]);
    assert.equal(again.code, 1, "start twice");
    const del = await oci(ctx, ["delete", id]);
    assert.equal(del.code, 1, "delete running without --force");
    assert.equal((await state(ctx, id)).status, "running", "still running after the refusals");
    const errors = await logErrors(ctx);
    assert.equal(errors.length, 2, `two error lines in the log: ${errors}`);
    assert.match(errors[0]!, /running/);
    assert.match(errors[1]!, /running/);
    assert.equal((await oci(ctx, ["kill", id, "9"])).code, 0);
    await waitStatus(ctx, id, "stopped");
    assert.equal((await oci(ctx, ["delete", id])).code, 0);
    ctx.ids.delete(id);
  },
);

ociTest(
  "delete --force kills a running container; delete of a created one kills its process",
  async (ctx) => {
    const a = ctx.id(), b = ctx.id();
    for (const id of [a, b]) {
      const bundle = await makeBundle(ctx, id, ["sleep", "100"]);
      assert.equal(await ociDetached(ctx, ["create", "--bundle", bundle, id], `${ctx.dir}/out`), 0);
    }
    assert.equal((await oci(ctx, ["start", a])).code, 0);
    const pidA = (await state(ctx, a)).pid, pidB = (await state(ctx, b)).pid;
    assert.equal((await oci(ctx, ["delete", "--force", a])).code, 0);
    assert.equal((await oci(ctx, ["delete", b])).code, 0, "a created container needs no --force");
    for (const pid of [pidA, pidB]) {
      let stat = "";
      for (let i = 0; i < 50; i++) {
        stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
        if (!stat || / [ZX] /.test(stat.slice(stat.lastIndexOf(")")))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(!stat || / [ZX] /.test(stat.slice(stat.lastIndexOf(")"))), `pid ${pid} is gone`);
    }
    ctx.ids.clear();
  },
);

ociTest("unknown id: state, start, kill, delete fail with exit 1 and a log error", async (ctx) => {
  for (const verb of [["state"], ["start"], ["kill"], ["delete"]]) {
    const r = await oci(ctx, [...verb, "no-such-container"]);
    assert.equal(r.code, 1, `${verb} of an unknown id`);
    assert.match(r.stderr, /does not exist/);
  }
  const errors = await logErrors(ctx);
  assert.equal(errors.length, 4);
  for (const e of errors) assert.match(e, /does not exist/);
});

ociTest("bad config.json: exit 1, a clear error in the JSON log, nothing created", async (ctx) => {
  const id = ctx.id();
  const bundle = await makeBundle(ctx, id, ["true"]);
  await Deno.writeTextFile(`${bundle}/config.json`, "{ not json");
  const r = await oci(ctx, ["create", "--bundle", bundle, id]);
  assert.equal(r.code, 1);
  const errors = await logErrors(ctx);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /config\.json|invalid character/);
  assert.equal((await oci(ctx, ["state", id])).code, 1, "no container");

  const id2 = ctx.id();
  const b2 = await makeBundle(ctx, id2, ["/no/such/program"]);
  const r2 = await oci(ctx, ["create", "--bundle", b2, id2]);
  assert.equal(r2.code, 1, "a missing executable fails create");
  assert.match((await logErrors(ctx))[2]!, /"\/no\/such\/program".*no such file/i);
  assert.equal((await oci(ctx, ["state", id2])).code, 1, "no container");
});

ociTest(
  "run: the container's exit status, its output, and the state is gone after",
  async (ctx) => {
    const r = await runBundle(ctx, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, "out\n");
    assert.match(r.stderr, /err/);
    const list = await oci(ctx, ["list", "--format", "json"]);
    assert.equal(list.code, 0);
    assert.deepEqual(JSON.parse(list.stdout) ?? [], []);
  },
);

ociTest(
  "the pid file holds the host pid; the process is not a child of the runtime",
  async (ctx) => {
    const id = ctx.id();
    const bundle = await makeBundle(ctx, id, ["sleep", "100"]);
    assert.equal(
      await ociDetached(
        ctx,
        ["create", "--bundle", bundle, "--pid-file", `${ctx.dir}/p`, id],
        `${ctx.dir}/o`,
      ),
      0,
    );
    const pid = Number(await Deno.readTextFile(`${ctx.dir}/p`));
    const stat = await Deno.readTextFile(`/proc/${pid}/status`);
    assert.match(stat, /NSpid:\s+\d+\s+1\b/, "PID 1 in its own namespace");
    assert.equal((await state(ctx, id)).pid, pid);
    if (!IS_RUNC) {
      // Nothing of tsbox stays behind: the runtime has exited, no supervisor.
      const ppid = Number(/PPid:\s+(\d+)/.exec(stat)![1]);
      assert.ok(
        !(await Deno.readTextFile(`/proc/${ppid}/cmdline`).catch(() => "")).includes("supervise"),
      );
    }
  },
);
