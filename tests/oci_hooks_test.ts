// OCI conformance: hooks (config.md "POSIX-platform Hooks"): when each kind
// runs, with the state JSON on stdin, in whose namespaces, and a hook that
// fails or outlives its timeout fails the operation.

import assert from "node:assert/strict";
import { IS_RUNC, makeBundle, oci, ociDetached, ociTest, state, waitStatus } from "./oci/lib.ts";

/** A host hook that appends its name and its stdin (the state JSON) to files. */
function hook(dir: string, name: string, extra = "") {
  return {
    path: "/bin/sh",
    args: ["sh", "-c", `echo ${name} >> ${dir}/order; cat > ${dir}/${name}.json${extra}`],
    env: ["PATH=/usr/bin:/bin"],
  };
}

ociTest(
  "hooks run in order with the state on stdin; createContainer and startContainer in the container",
  async (ctx) => {
    const id = ctx.id();
    const d = ctx.dir;
    const bundle = await makeBundle(
      ctx,
      id,
      ["sh", "-c", "echo main >> /order-in; sleep 100"],
      (c) => {
        c.hooks = {
          prestart: [hook(d, "prestart")],
          createRuntime: [
            hook(d, "createRuntime", `; readlink /proc/self/ns/uts > ${d}/createRuntime.uts`),
          ],
          createContainer: [
            hook(d, "createContainer", `; readlink /proc/self/ns/uts > ${d}/createContainer.uts`),
          ],
          // Resolved in the container: busybox's sh, writing into the container's root.
          startContainer: [{
            path: "/bin/sh",
            args: [
              "sh",
              "-c",
              "cat > /start.json; hostname > /start.host; echo start >> /order-in",
            ],
          }],
          poststart: [hook(d, "poststart")],
          poststop: [hook(d, "poststop")],
        };
        c.hostname = "hooked";
      },
    );
    assert.equal(await ociDetached(ctx, ["create", "--bundle", bundle, id], `${d}/out`), 0);
    const pid = (await state(ctx, id)).pid;
    const order = async () => (await Deno.readTextFile(`${d}/order`)).trim().split("\n");
    const atCreate = await order();
    assert.deepEqual(atCreate.slice(0, 3), ["prestart", "createRuntime", "createContainer"]);
    // runc 1.1 also runs poststart hooks at create (fixed in runc 1.2).
    if (!IS_RUNC) assert.equal(atCreate.length, 3, "no poststart before start");
    for (const h of ["prestart", "createRuntime", "createContainer"]) {
      const s = JSON.parse(await Deno.readTextFile(`${d}/${h}.json`));
      assert.equal(s.id, id, h);
      // runc gives createContainer hooks the pid as its own PID namespace sees it (1).
      if (!(IS_RUNC && h === "createContainer")) assert.equal(s.pid, pid, h);
      assert.equal(s.bundle, bundle, h);
    }
    const hostUts = Deno.readLinkSync("/proc/self/ns/uts");
    assert.equal(
      (await Deno.readTextFile(`${d}/createRuntime.uts`)).trim(),
      hostUts,
      "runtime namespace",
    );
    assert.equal(
      (await Deno.readTextFile(`${d}/createContainer.uts`)).trim(),
      Deno.readLinkSync(`/proc/${pid}/ns/uts`),
      "container namespace",
    );

    assert.equal((await oci(ctx, ["start", id])).code, 0);
    await waitStatus(ctx, id, "running");
    const root = `${bundle}/rootfs`;
    for (let i = 0; i < 50; i++) {
      if ((await Deno.readTextFile(`${root}/order-in`).catch(() => "")).includes("main")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(
      await Deno.readTextFile(`${root}/order-in`),
      "start\nmain\n",
      "startContainer before the process",
    );
    assert.equal((await Deno.readTextFile(`${root}/start.host`)).trim(), "hooked");
    assert.equal(JSON.parse(await Deno.readTextFile(`${root}/start.json`)).id, id);
    assert.deepEqual((await order()).at(-1), "poststart");
    if (!IS_RUNC) {
      assert.equal(JSON.parse(await Deno.readTextFile(`${d}/poststart.json`)).status, "running");
    }

    assert.equal((await oci(ctx, ["kill", id, "KILL"])).code, 0);
    await waitStatus(ctx, id, "stopped");
    assert.equal((await oci(ctx, ["delete", id])).code, 0);
    ctx.ids.delete(id);
    assert.deepEqual((await order()).at(-1), "poststop");
    assert.equal(JSON.parse(await Deno.readTextFile(`${d}/poststop.json`)).id, id);
  },
);

ociTest("a failing or timed-out createRuntime hook fails create; nothing is left", async (ctx) => {
  for (
    const h of [
      { path: "/bin/sh", args: ["sh", "-c", "exit 3"] },
      { path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 },
    ]
  ) {
    const id = ctx.id();
    const bundle = await makeBundle(ctx, id, ["true"], (c) => c.hooks = { createRuntime: [h] });
    const r = await oci(ctx, ["create", "--bundle", bundle, id]);
    assert.equal(r.code, 1, JSON.stringify(h));
    assert.equal((await oci(ctx, ["state", id])).code, 1, "no container left");
  }
});
