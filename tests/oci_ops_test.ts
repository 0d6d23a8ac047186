// OCI conformance: the verbs callers use on a running container, as runc
// defines them: exec (--process, flags, -d with a pid file, a terminal on the
// console socket), ps --format json, events --stats, pause/resume, update,
// kill --all, list; and spec/features output that parses.

import assert from "node:assert/strict";
import { sysRaw } from "../ffi/syscall.ts";
import { ConsoleSocket, readAllPty } from "./oci/console.ts";
import {
  type Ctx,
  type Json,
  makeBundle,
  oci,
  ociDetached,
  ociTest,
  state,
  waitStatus,
} from "./oci/lib.ts";

/** A started container running `sleep 100`; returns its id and bundle. */
async function running(ctx: Ctx, edit: (c: Json) => void = () => {}) {
  const id = ctx.id();
  const bundle = await makeBundle(ctx, id, ["sleep", "100"], edit);
  assert.equal(await ociDetached(ctx, ["create", "--bundle", bundle, id], `${ctx.dir}/out`), 0);
  assert.equal((await oci(ctx, ["start", id])).code, 0);
  await waitStatus(ctx, id, "running");
  return { id, bundle };
}

ociTest("exec: args with --env, --cwd, --user; the exit status; --process", async (ctx) => {
  const { id, bundle } = await running(ctx);
  const r = await oci(ctx, [
    "exec",
    "--env",
    "X=1",
    "--cwd",
    "/tmp",
    "--user",
    "1000:1001",
    id,
    "sh",
    "-c",
    'echo "$X $(pwd) $(id -u):$(id -g)"; exit 5',
  ]);
  assert.equal(r.stdout, "1 /tmp 1000:1001\n");
  assert.equal(r.code, 5);
  const proc = {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ["sh", "-c", "echo $Y; cat /proc/self/status | grep -c NoNewPrivs:.1"],
    env: ["PATH=/bin", "Y=from-process-json"],
    cwd: "/",
    noNewPrivileges: true,
  };
  await Deno.writeTextFile(`${bundle}/process.json`, JSON.stringify(proc));
  const p = await oci(ctx, ["exec", "--process", `${bundle}/process.json`, id]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, "from-process-json\n1\n");
});

ociTest("exec -d --pid-file: the process runs in the container's namespaces", async (ctx) => {
  const { id } = await running(ctx);
  const initPid = (await state(ctx, id)).pid;
  // -d: the process keeps the stdio it was given, so they go to a file.
  const code = await ociDetached(
    ctx,
    ["exec", "-d", "--pid-file", `${ctx.dir}/exec.pid`, id, "sleep", "50"],
    `${ctx.dir}/exec.out`,
  );
  assert.equal(code, 0, await Deno.readTextFile(`${ctx.dir}/exec.out`));
  const pid = Number(await Deno.readTextFile(`${ctx.dir}/exec.pid`));
  for (const ns of ["pid", "mnt", "net", "uts", "ipc"]) {
    assert.equal(
      Deno.readLinkSync(`/proc/${pid}/ns/${ns}`),
      Deno.readLinkSync(`/proc/${initPid}/ns/${ns}`),
      ns,
    );
  }
  const ps = await oci(ctx, ["ps", "--format", "json", id]);
  assert.equal(ps.code, 0, ps.stderr);
  assert.deepEqual((JSON.parse(ps.stdout) as number[]).sort(), [initPid, pid].sort());
});

ociTest("exec -t with --console-socket: a terminal for the new process", async (ctx) => {
  const { id } = await running(ctx);
  const sock = new ConsoleSocket(`${ctx.dir}/exec.sock`);
  try {
    const master = sock.receiveMaster();
    const r = await oci(ctx, [
      "exec",
      "-t",
      "-d",
      "--console-socket",
      sock.path,
      id,
      "sh",
      "-c",
      "tty; echo done",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const fd = await master;
    const text = await readAllPty(fd);
    sysRaw("close", [fd]);
    assert.equal(text.replaceAll("\r", ""), "/dev/pts/0\ndone\n");
  } finally {
    sock.close();
  }
});

ociTest("exec in a stopped container fails", async (ctx) => {
  const { id } = await running(ctx);
  assert.equal((await oci(ctx, ["kill", id, "KILL"])).code, 0);
  await waitStatus(ctx, id, "stopped");
  const r = await oci(ctx, ["exec", id, "true"]);
  assert.notEqual(r.code, 0, "runc exits 255 here, tsbox-runc 1");
});

ociTest("pause and resume; events --stats; update; kill --all", async (ctx) => {
  const { id } = await running(ctx, (c) => c.linux.resources.pids = { limit: 50 });
  assert.equal((await oci(ctx, ["pause", id])).code, 0);
  assert.equal((await state(ctx, id)).status, "paused");
  assert.equal((await oci(ctx, ["resume", id])).code, 0);
  assert.equal((await state(ctx, id)).status, "running");
  const ev = await oci(ctx, ["events", "--stats", id]);
  assert.equal(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assert.equal(e.type, "stats");
  assert.equal(e.id, id);
  assert.ok(e.data.memory.usage.usage > 0, "memory usage");
  assert.equal(e.data.pids.current, 1);
  assert.equal(e.data.pids.limit, 50);
  assert.ok(e.data.cpu.usage.total > 0, "cpu usage");
  assert.equal((await oci(ctx, ["update", "--pids-limit", "20", id])).code, 0);
  const ev2 = JSON.parse((await oci(ctx, ["events", "--stats", id])).stdout);
  assert.equal(ev2.data.pids.limit, 20);
  assert.equal(await ociDetached(ctx, ["exec", "-d", id, "sleep", "60"], `${ctx.dir}/x`), 0);
  assert.equal((await oci(ctx, ["kill", "--all", id, "KILL"])).code, 0);
  await waitStatus(ctx, id, "stopped");
});

ociTest("list shows the containers; spec and features print valid JSON", async (ctx) => {
  const { id } = await running(ctx);
  const list = await oci(ctx, ["list", "--format", "json"]);
  assert.equal(list.code, 0);
  const entries = JSON.parse(list.stdout) as { id: string; status: string }[];
  assert.deepEqual(entries.map((e) => [e.id, e.status]), [[id, "running"]]);
  await Deno.mkdir(`${ctx.dir}/specdir`);
  assert.equal((await oci(ctx, ["spec", "--bundle", `${ctx.dir}/specdir`])).code, 0);
  const spec = JSON.parse(await Deno.readTextFile(`${ctx.dir}/specdir/config.json`));
  assert.equal(spec.root.path, "rootfs");
  assert.ok(spec.process.args.length > 0);
  const f = await oci(ctx, ["features"]);
  assert.equal(f.code, 0);
  const feats = JSON.parse(f.stdout);
  assert.ok(feats.linux.namespaces.includes("pid"));
  assert.ok(feats.linux.seccomp.operators.includes("SCMP_CMP_MASKED_EQ"));
});
