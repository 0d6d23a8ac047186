// The image verbs beyond pull, checked with independent tools: push (then
// skopeo inspect), login/logout with Basic auth over TLS and with a token
// server, save (then podman load and run), podman save (then load and run),
// commit (then run), diff, export (then GNU tar), rmi with shared layers,
// system df, and a state root made before layers existed.

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS } from "../src/state/db.ts";
import { busyboxTarball, host, rootTest, tsbox } from "./lib/harness.ts";
import { fixtures, pushFixtures } from "./lib/images.ts";
import { startRegistry } from "./lib/registry.ts";

const run = (root: string, ...args: string[]) =>
  tsbox(["run", "--rm", "--network", "none", ...args], { root });

rootTest(
  "push then skopeo inspect; tag; history; Basic auth over TLS with login/logout",
  async (root) => {
    const reg = await startRegistry({ basic: { user: "alice", password: "s3cret" } });
    const auth = await Deno.makeTempDir({ prefix: "tsbox-auth-" });
    const env = { REGISTRY_AUTH_FILE: `${auth}/auth.json`, TSBOX_CERTS_D: reg.certsDir! };
    const t = (args: string[], expect?: number) =>
      tsbox(args, { root, env, ...(expect !== undefined ? { expect } : {}) });
    try {
      const ref = `${reg.host}/tools/busybox:1`;
      await t(["tag", "busybox", ref], 0);
      const denied = await t(["push", ref]);
      assert.equal(denied.code, 125);
      assert.match(denied.stderr, /denied|authentication required|unauthorized/i);
      const wrong = await t(["login", "-u", "alice", "-p", "nope", reg.host]);
      assert.equal(wrong.code, 125);
      assert.match(wrong.stderr, /incorrect username or password/);
      const ok = await t(["login", "-u", "alice", "-p", "s3cret", reg.host], 0);
      assert.match(ok.stdout, /Login Succeeded/);
      assert.equal(Deno.statSync(`${auth}/auth.json`).mode! & 0o777, 0o600);
      const pushed = await t(["push", ref], 0);
      assert.match(
        pushed.stdout,
        /The push refers to repository \[127\.0\.0\.1:\d+\/tools\/busybox\]/,
      );
      assert.match(pushed.stdout, /: Pushed\n/);
      const digest = pushed.stdout.match(/1: digest: (sha256:[0-9a-f]{64}) size: \d+/)![1]!;
      const again = await t(["push", ref], 0);
      assert.match(again.stdout, /Layer already exists/);
      const inspect = JSON.parse(
        (await host("skopeo", [
          "inspect",
          "--cert-dir",
          `${reg.certsDir}/${reg.host}`,
          "--creds",
          "alice:s3cret",
          `docker://${ref}`,
        ])).stdout,
      );
      assert.equal(inspect.Digest, digest);
      assert.equal(inspect.Layers.length, 1);
      const doc = JSON.parse((await t(["image", "inspect", ref], 0)).stdout)[0];
      assert.ok(doc.RepoDigests.includes(`${reg.host}/tools/busybox@${digest}`));
      assert.ok(doc.RepoTags.includes("busybox:latest") && doc.RepoTags.includes(ref));
      // Pull it back into an empty root, over TLS with the registry's own CA.
      const other = await Deno.makeTempDir({ prefix: "tsbox-test-" });
      try {
        await tsbox(["pull", "-q", ref], { root: other, env, expect: 0 });
        const r = await tsbox(["run", "--rm", "--network", "none", ref, "echo", "over-tls"], {
          root: other,
          env,
          expect: 0,
        });
        assert.equal(r.stdout, "over-tls\n");
      } finally {
        await Deno.remove(other, { recursive: true });
      }
      const hist = await t(["history", ref], 0);
      assert.match(hist.stdout, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n[0-9a-f]{12}\s/);
      const out = await t(["logout", reg.host], 0);
      assert.match(out.stdout, /Removing login credentials for 127\.0\.0\.1/);
      const afterLogout = await t(["push", ref]);
      assert.equal(afterLogout.code, 125);
    } finally {
      await reg.close();
      await Deno.remove(auth, { recursive: true });
    }
  },
);

rootTest("Bearer token auth: anonymous pull, push only after login", async (root) => {
  const reg = await startRegistry({ token: { user: "bob", password: "pw" } });
  const auth = await Deno.makeTempDir({ prefix: "tsbox-auth-" });
  const env = { REGISTRY_AUTH_FILE: `${auth}/auth.json` };
  const t = (args: string[], expect?: number) =>
    tsbox(args, { root, env, ...(expect !== undefined ? { expect } : {}) });
  try {
    const ref = `${reg.host}/app:1`;
    await t(["tag", "busybox", ref], 0);
    const anon = await t(["push", ref]);
    assert.equal(anon.code, 125);
    await t(["login", "-u", "bob", "-p", "pw", reg.host], 0);
    await t(["push", ref], 0);
    await t(["logout", reg.host], 0);
    await t(["rmi", ref], 0);
    const p = await t(["pull", ref], 0);
    assert.match(p.stdout, /Status: /);
    const missing = await t(["pull", `${reg.host}/nothere:1`]);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /not found|pull access denied/);
  } finally {
    await reg.close();
    await Deno.remove(auth, { recursive: true });
  }
});

rootTest("save -> podman load -> run; podman save -> load -> run", async (root) => {
  const reg = await startRegistry();
  const work = await Deno.makeTempDir({ prefix: "tsbox-archive-" });
  const podmanDir = `${work}/podman`;
  const podman = async (...a: string[]) =>
    (await host("podman", [
      "--root",
      `${podmanDir}/root`,
      "--runroot",
      `${podmanDir}/run`,
      "--storage-driver",
      "overlay",
      "--cgroup-manager",
      "cgroupfs",
      "--events-backend",
      "none",
      ...a,
    ])).stdout;
  try {
    await pushFixtures(await fixtures(), reg.host);
    const ref = `${reg.host}/layered:1`;
    await tsbox(["pull", "-q", ref], { root, expect: 0 });
    await tsbox(["save", "-o", `${work}/ours.tar`, ref, "busybox"], { root, expect: 0 });
    await podman("load", "-q", "-i", `${work}/ours.tar`);
    const listed = await podman("images", "--format", "{{.Repository}}:{{.Tag}}");
    assert.match(listed, /layered:1/);
    assert.match(listed, /busybox:latest/);
    const ran = await podman(
      "run",
      "--rm",
      "--ulimit",
      "nofile=1024:1024",
      "--ulimit",
      "nproc=1024:1024",
      "--network",
      "none",
      ref,
    );
    assert.equal(ran, "cmd-ran\n");
    const inside = await podman(
      "run",
      "--rm",
      "--ulimit",
      "nofile=1024:1024",
      "--ulimit",
      "nproc=1024:1024",
      "--network",
      "none",
      ref,
      "cat",
      "/var/spool/x",
    );
    assert.equal(inside, "replaced\n");
    // And back: podman's docker-archive of an image podman pulled itself.
    await podman("pull", "-q", "--tls-verify=false", `${reg.host}/many:1`);
    await podman("save", "-o", `${work}/theirs.tar`, `${reg.host}/many:1`);
    const loaded = await tsbox(["load", "-i", `${work}/theirs.tar`], { root, expect: 0 });
    assert.match(loaded.stdout, /Loaded image: 127\.0\.0\.1:\d+\/many:1/);
    assert.equal((await run(root, `${reg.host}/many:1`, "cat", "/layers/119")).stdout, "119\n");
    await podman("save", "--format", "oci-archive", "-o", `${work}/oci.tar`, `${reg.host}/many:1`);
    await tsbox(["rmi", `${reg.host}/many:1`], { root, expect: 0 });
    await tsbox(["load", "-i", `${work}/oci.tar`], { root, expect: 0 });
    const bad = await tsbox(["load", "-i", await busyboxTarball()], { root });
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /not an image archive/);
  } finally {
    await podman("system", "reset", "-f").catch(() => {});
    await reg.close();
    await Deno.remove(work, { recursive: true });
  }
});

rootTest(
  "commit then run sees the change; diff lists A/C/D; export is the merged tree",
  async (root) => {
    await tsbox([
      "run",
      "--network",
      "none",
      "--name",
      "box",
      "busybox",
      "sh",
      "-c",
      "echo changed > /etc/os-release; rm /bin/ls; mkdir /new; echo n > /new/file; rm -rf /home; mkdir /home; echo h > /home/x",
    ], { root, expect: 0 });
    const diff = (await tsbox(["diff", "box"], { root, expect: 0 })).stdout;
    assert.match(diff, /^C \/etc\nC \/etc\/os-release\n/m);
    assert.match(diff, /^D \/bin\/ls$/m);
    assert.match(diff, /^A \/new\nA \/new\/file$/m);
    const id = (await tsbox(
      ["commit", "-m", "a change", "-c", 'CMD ["cat", "/new/file"]', "box", "snap:1"],
      {
        root,
        expect: 0,
      },
    )).stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal((await run(root, "snap:1")).stdout, "n\n", "the committed CMD");
    const r = await run(
      root,
      "snap:1",
      "sh",
      "-c",
      "cat /etc/os-release; ls /bin/ls 2>&1; ls /home",
    );
    assert.equal(r.stdout, "changed\nls: /bin/ls: No such file or directory\nx\n");
    const doc =
      JSON.parse((await tsbox(["image", "inspect", "snap:1"], { root, expect: 0 })).stdout)[0];
    assert.equal(doc.RootFS.Layers.length, 2);
    assert.equal(doc.Comment, "a change");
    const work = await Deno.makeTempDir({ prefix: "tsbox-export-" });
    try {
      await tsbox(["export", "-o", `${work}/box.tar`, "box"], { root, expect: 0 });
      const list = (await host("tar", ["-tf", `${work}/box.tar`])).stdout.split("\n");
      assert.ok(list.includes("new/file") && list.includes("etc/os-release"));
      assert.ok(!list.includes("bin/ls"), "deleted files are not exported");
      await host("tar", ["-xf", `${work}/box.tar`, "-C", work, "etc/os-release"]);
      assert.equal(Deno.readTextFileSync(`${work}/etc/os-release`), "changed\n");
    } finally {
      await Deno.remove(work, { recursive: true });
    }
    // Saved and loaded again, the commit's layer is the same layer.
    await tsbox(["rm", "box"], { root, expect: 0 });
  },
);

rootTest(
  "rmi keeps shared layers until the last image goes; system df counts them once",
  async (root) => {
    await tsbox(["tag", "busybox", "other:1"], { root, expect: 0 });
    const untag = await tsbox(["rmi", "other:1"], { root, expect: 0 });
    assert.equal(untag.stdout, "Untagged: other:1\n");
    await tsbox(["import", await busyboxTarball(), "second:1"], { root, expect: 0 });
    const layers = () => [...Deno.readDirSync(`${root}/layers`)].length;
    assert.equal(layers(), 1, "the same tarball is the same layer");
    const df = (await tsbox(["system", "df"], { root, expect: 0 })).stdout;
    assert.match(df, /Images\s+2\s+0\s+1\.98MB/);
    await tsbox(["create", "--name", "user", "--network", "none", "second:1", "true"], {
      root,
      expect: 0,
    });
    const busy = await tsbox(["rmi", "second:1"], { root });
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /used by container user/);
    await tsbox(["rm", "user"], { root, expect: 0 });
    const gone = await tsbox(["rmi", "second:1"], { root, expect: 0 });
    assert.match(gone.stdout, /Untagged: second:1\nDeleted: sha256:/);
    assert.equal(layers(), 1, "busybox still uses the layer");
    await tsbox(["rmi", "busybox"], { root, expect: 0 });
    assert.equal(layers(), 0, "the last user gone, the layer goes");
    assert.deepEqual([...Deno.readDirSync(`${root}/blobs/sha256`)], [], "and its blobs");
  },
);

rootTest("a state root from before layers keeps its images and containers", async (root) => {
  // The layout and schema of the first release: images/<id>/rootfs and user_version 1.
  const id = "ab".repeat(32);
  await Deno.mkdir(`${root}/images/${id}/rootfs`, { recursive: true });
  await host("tar", ["-xf", await busyboxTarball(), "-C", `${root}/images/${id}/rootfs`]);
  const db = new DatabaseSync(`${root}/tsbox.db`);
  MIGRATIONS[0]!.up(db);
  db.exec("PRAGMA user_version = 1");
  db.prepare("INSERT INTO images (id, created, size, config) VALUES (?, ?, ?, ?)").run(
    id,
    new Date().toISOString(),
    1,
    JSON.stringify({ Cmd: ["echo", "old-image"] }),
  );
  db.prepare("INSERT INTO image_names (name, image_id) VALUES (?, ?)").run("old:1", id);
  db.close();
  const list = await tsbox(["images"], { root, expect: 0 });
  assert.match(list.stdout, /\nold\s+1\s+abababababab\s/);
  assert.equal((await run(root, "old:1")).stdout, "old-image\n");
  await tsbox(["rmi", "old:1"], { root, expect: 0 });
  await assert.rejects(Deno.stat(`${root}/images/${id}`));
}, { image: false });
