// OCI conformance: mounts beyond bind and tmpfs (config.md "Mounts",
// config-linux.md "rootfs mount propagation", OCI 1.1 id-mapped mounts),
// checked from /proc/self/mountinfo and file ownership inside the container.

import assert from "node:assert/strict";
import { IS_RUNC, ociTest, runOk } from "./oci/lib.ts";

/** The optional fields (shared:N, master:N) of the mount at `point` in mountinfo text. */
function propagation(mountinfo: string, point: string): string {
  const line = mountinfo.split("\n").find((l) => l.split(" ")[4] === point) ?? "";
  const f = line.split(" ");
  return f.slice(6, f.indexOf("-")).join(" ");
}

ociTest("bind propagation options and rootfsPropagation", async (ctx) => {
  const src = `${ctx.dir}/p`;
  await Deno.mkdir(src);
  const out = await runOk(ctx, ["cat", "/proc/self/mountinfo"], (c) => {
    c.linux.rootfsPropagation = "rshared";
    c.mounts.push(
      { destination: "/shared", type: "bind", source: src, options: ["rbind", "rshared"] },
      { destination: "/private", type: "bind", source: src, options: ["rbind", "rprivate"] },
    );
  });
  // runc 1.1 applies rootfsPropagation to the tree the root is bound from, not to "/".
  if (!IS_RUNC) assert.match(propagation(out, "/"), /shared:\d+/);
  assert.match(propagation(out, "/shared"), /shared:\d+/);
  assert.equal(propagation(out, "/private"), "");
});

ociTest("a filesystem type other than bind or tmpfs (ramfs), with its options", async (ctx) => {
  const out = await runOk(ctx, [
    "sh",
    "-c",
    "grep ' /ram ' /proc/self/mountinfo | cut -d' ' -f9-; stat -c %a /ram",
  ], (c) => {
    c.mounts.push({
      destination: "/ram",
      type: "ramfs",
      source: "ramfs",
      options: ["nosuid", "mode=711"],
    });
  });
  assert.match(out, /^ramfs rw/);
  assert.match(out, /\n711\n$/);
});

ociTest("a device below a directory of /dev (/dev/net/tun)", async (ctx) => {
  const out = await runOk(ctx, ["ls", "-ln", "/dev/net/tun"], (c) => {
    c.linux.devices = [{ path: "/dev/net/tun", type: "c", major: 10, minor: 200, fileMode: 0o600 }];
  });
  assert.match(out, /^crw------- .* 10, +200 .*\/dev\/net\/tun\n$/);
});

ociTest("an id-mapped bind mount (OCI 1.1 mount uidMappings)", async (ctx) => {
  const src = `${ctx.dir}/owned`;
  await Deno.mkdir(src);
  await Deno.writeTextFile(`${src}/f`, "x");
  await Deno.chown(`${src}/f`, 1000, 1000);
  const out = await runOk(ctx, ["sh", "-c", "stat -c '%u:%g' /plain/f /mapped/f"], (c) => {
    c.mounts.push(
      { destination: "/plain", type: "bind", source: src, options: ["rbind"] },
      {
        destination: "/mapped",
        type: "bind",
        source: src,
        options: ["rbind", "idmap"],
        // As runc 1.2 writes them to the mount's user namespace: ids 1000 on
        // disk are seen as 0 through the mount (the container is in the host's).
        uidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
        gidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
      },
    );
  });
  assert.equal(out, "1000:1000\n0:0\n");
}, { tsboxOnly: "runc 1.1 has no id-mapped mounts" });
