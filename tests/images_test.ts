// Images through the CLI: import (.tar and .tar.gz), images, rmi, and a
// traversal tarball refused with nothing written outside the store.

import assert from "node:assert/strict";
import { busyboxTarball, host, rootTest, tsbox } from "./lib/harness.ts";

rootTest("import, images and rmi", async (root) => {
  const tar = await busyboxTarball();
  const gz = `${await Deno.makeTempDir()}/bb.tar.gz`;
  try {
    await host("sh", ["-c", `gzip -c ${tar} > ${gz}`]);
    const r = await tsbox([
      "import",
      "-c",
      'CMD ["echo", "from-cmd"]',
      "-c",
      "ENV GREETING=hi",
      gz,
      "greeter:1.0",
    ], { root, expect: 0 });
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const list = await tsbox(["images"], { root, expect: 0 });
    assert.match(list.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    assert.match(list.stdout, /\ngreeter\s+1\.0\s+[0-9a-f]{12}\s/);
    assert.match(list.stdout, /\nbusybox\s+latest\s/);
    const run = await tsbox(["run", "--rm", "--network", "none", "greeter:1.0"], {
      root,
      expect: 0,
    });
    assert.equal(run.stdout, "from-cmd\n");
    const env = await tsbox([
      "run",
      "--rm",
      "--network",
      "none",
      "greeter:1.0",
      "sh",
      "-c",
      "echo $GREETING",
    ], { root, expect: 0 });
    assert.equal(env.stdout, "hi\n");
    await tsbox(["create", "--name", "user-of-img", "--network", "none", "greeter:1.0"], {
      root,
      expect: 0,
    });
    const refused = await tsbox(["rmi", "greeter:1.0"], { root });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /it is used by container user-of-img/);
    await tsbox(["rm", "user-of-img"], { root, expect: 0 });
    const removed = await tsbox(["rmi", "greeter:1.0"], { root, expect: 0 });
    assert.match(removed.stdout, /Untagged: greeter:1.0/);
    assert.doesNotMatch((await tsbox(["images"], { root })).stdout, /greeter/);
  } finally {
    await Deno.remove(gz.replace(/\/[^/]+$/, ""), { recursive: true });
  }
});

rootTest(
  "a tarball that climbs out of its root is refused and writes nothing outside",
  async (root) => {
    const work = await Deno.makeTempDir({ prefix: "tsbox-evil-" });
    try {
      await Deno.mkdir(`${work}/src/etc`, { recursive: true });
      await Deno.writeTextFile(`${work}/src/etc/ok`, "fine\n");
      await Deno.writeTextFile(`${work}/escaped`, "x\n");
      // GNU tar keeps "../escaped" with -P.
      await host("tar", [
        "-C",
        `${work}/src`,
        "-P",
        "-cf",
        `${work}/evil.tar`,
        "etc/ok",
        "../escaped",
      ]);
      await Deno.remove(`${work}/escaped`);
      const r = await tsbox(["import", `${work}/evil.tar`, "evil"], { root });
      assert.equal(r.code, 125);
      assert.match(r.stderr, /refusing tar entry "\.\.\/escaped": path leaves the root/);
      await assert.rejects(Deno.stat(`${work}/escaped`), "nothing written outside");
      assert.doesNotMatch((await tsbox(["images"], { root })).stdout, /evil/);
      const list = (d: string) => {
        try {
          return [...Deno.readDirSync(`${root}/${d}`)].map((e) => e.name);
        } catch {
          return [];
        }
      };
      assert.deepEqual(list("tmp"), [], "no partial import left");
      assert.equal(list("layers").length, 1, "only busybox's layer is stored");
      assert.equal(list("blobs/sha256").length, 3, "only busybox's blobs are stored");
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
);

rootTest("bad input to import: missing file, not a tar, bad name", async (root) => {
  const missing = await tsbox(["import", "/no/such.tar", "x"], { root });
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /\/no\/such\.tar/);
  const f = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(f, "this is not a tarball at all, just text".repeat(20));
    const notTar = await tsbox(["import", f, "x"], { root });
    assert.equal(notTar.code, 125);
    assert.match(notTar.stderr, /not a tar archive/);
    const badName = await tsbox(["import", f, "Bad Name"], { root });
    assert.equal(badName.code, 125);
    assert.match(badName.stderr, /invalid reference format/);
  } finally {
    await Deno.remove(f);
  }
});
