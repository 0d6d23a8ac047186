// tsbox-runc under a real caller: Podman (`podman --runtime`), through conmon.
// Podman's storage and run state live in a private directory under /tmp, it
// runs inside a network namespace this test made (nsenter --net), and its
// containers use `--network none` or a pod's own namespace: no bridge, no
// rule, nothing in the machine's network namespace.
// The private Podman is tests/oci/podman.ts.

import assert from "node:assert/strict";
import { ociTest } from "./oci/lib.ts";
import { withPodman } from "./oci/podman.ts";

const NONE = ["--network", "none"];

ociTest("podman run --rm: output and exit status", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    const r = await p.run([
      "run",
      "--rm",
      ...NONE,
      "localhost/busybox",
      "sh",
      "-c",
      "echo hi; exit 4",
    ]);
    assert.equal(r.stdout, "hi\n");
    assert.equal(r.code, 4);
    assert.equal((await p.ok(["ps", "-aq"])).trim(), "");
  });
}, { needs: ["podman"] });

ociTest("podman run -d, exec, top, stats, stop, rm", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    await p.ok(["run", "-d", ...NONE, "--name", "web", "localhost/busybox", "sleep", "1000"]);
    assert.equal(
      await p.ok(["exec", "web", "sh", "-c", "echo in-exec; hostname"]),
      `in-exec\n${(await p.ok(["inspect", "-f", "{{.Config.Hostname}}", "web"])).trim()}\n`,
    );
    assert.match(await p.ok(["top", "web"]), /sleep 1000/);
    const stats = JSON.parse(await p.ok(["stats", "--no-stream", "--format", "json", "web"]));
    assert.equal(stats[0].name, "web");
    assert.match(stats[0].mem_usage, /B \/ /);
    await p.ok(["stop", "-t", "1", "web"]);
    assert.match(await p.ok(["ps", "-a", "--format", "{{.Status}}"]), /Exited/);
    await p.ok(["rm", "web"]);
  });
}, { needs: ["podman"] });

ociTest("podman run -it: a terminal through the console socket", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    const r = await p.run([
      "run",
      "--rm",
      "-it",
      ...NONE,
      "localhost/busybox",
      "sh",
      "-c",
      "tty; echo tty-ok",
    ], {
      tty: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/0\r*\ntty-ok/);
  });
}, { needs: ["podman"] });

ociTest("podman --pod: two containers share the pod's network namespace", async (ctx) => {
  await withPodman(ctx.dir, async (p) => {
    await p.ok(["pod", "create", "--name", "pod1", "--network", "none"]);
    await p.ok(["run", "-d", "--pod", "pod1", "--name", "a", "localhost/busybox", "sleep", "1000"]);
    const b = (await p.ok([
      "run",
      "--rm",
      "--pod",
      "pod1",
      "localhost/busybox",
      "readlink",
      "/proc/self/ns/net",
    ])).trim();
    const a = (await p.ok(["exec", "a", "readlink", "/proc/self/ns/net"])).trim();
    assert.equal(a, b);
    assert.notEqual(a, Deno.readLinkSync("/proc/self/ns/net"));
    await p.ok(["pod", "rm", "-f", "-t", "1", "pod1"]);
  });
}, { needs: ["podman"] });
