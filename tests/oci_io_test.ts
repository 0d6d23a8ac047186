// OCI conformance: the container's stdio as callers hand it over. A terminal
// (process.terminal, consoleSize) whose pty master goes to the caller's
// --console-socket; fds passed with --preserve-fds.

import assert from "node:assert/strict";
import { sysRaw } from "../ffi/syscall.ts";
import { host } from "./lib/harness.ts";
import { ConsoleSocket, readAllPty } from "./oci/console.ts";
import { makeBundle, oci, ociDetached, ociTest, RUNTIME, waitStatus } from "./oci/lib.ts";

ociTest(
  "process.terminal: the pty master arrives on --console-socket; consoleSize is set",
  async (ctx) => {
    const id = ctx.id();
    const bundle = await makeBundle(ctx, id, ["sh", "-c", "tty; stty size; echo done"], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 33, width: 101 };
    });
    const sock = new ConsoleSocket(`${ctx.dir}/console.sock`);
    try {
      const master = sock.receiveMaster();
      const out = `${ctx.dir}/out`;
      const code = await ociDetached(
        ctx,
        ["create", "--console-socket", sock.path, "--bundle", bundle, id],
        out,
      );
      assert.equal(code, 0, await Deno.readTextFile(out));
      const fd = await master;
      const text = readAllPty(fd);
      assert.equal((await oci(ctx, ["start", id])).code, 0);
      assert.equal((await text).replaceAll("\r", ""), "/dev/pts/0\n33 101\ndone\n");
      sysRaw("close", [fd]);
      await waitStatus(ctx, id, "stopped");
    } finally {
      sock.close();
    }
  },
);

ociTest("--preserve-fds: fd 3 of the caller is fd 3 of the container", async (ctx) => {
  const id = ctx.id();
  const bundle = await makeBundle(ctx, id, ["sh", "-c", "/checker fds; /checker fifo-write 3"]);
  const out = `${ctx.dir}/fd3`;
  const [cmd, ...pre] = RUNTIME.split(" ");
  const r = await host("/bin/sh", [
    "-c",
    'o="$1"; shift; exec 3>"$o"; exec "$@"',
    "sh",
    out,
    cmd!,
    ...pre,
    "--root",
    ctx.root,
    "run",
    "--preserve-fds",
    "1",
    "--bundle",
    bundle,
    id,
  ]);
  assert.equal(r.stdout, "0 1 2 3 \nok\n");
  assert.equal(await Deno.readTextFile(out), "x");
});
