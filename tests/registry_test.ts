// Images from real registries on loopback (the CNCF distribution registry),
// made by independent tools (GNU tar, umoci, skopeo; see tests/lib/images.ts):
// pull with layers that delete, replace and keep every kind of entry, a root
// filesystem identical to Podman's, zstd and uncompressed layers, an index,
// 120 layers, the image config driving run, Docker's errors, and a pull that
// survives a registry that drops or lies.

import assert from "node:assert/strict";
import { Staging } from "../src/mount/staging.ts";
import { mountOverlay } from "../src/mount/rootfs.ts";
import { NO_TRACE } from "../src/runtime/trace.ts";
import { host, rootTest, tsbox } from "./lib/harness.ts";
import { fixtures, pushFixtures, sha256Hex, uploadBlob } from "./lib/images.ts";
import { startRegistry, type TestRegistry } from "./lib/registry.ts";
import { describeTree, treeDiff } from "./lib/tree.ts";

async function withRegistry(fn: (r: TestRegistry) => Promise<void>): Promise<void> {
  const r = await startRegistry();
  try {
    await pushFixtures(await fixtures(), r.host);
    await fn(r);
  } finally {
    await r.close();
  }
}

const run = (root: string, ...args: string[]) =>
  tsbox(["run", "--rm", "--network", "none", ...args], { root });

/** The merged tree of a tsbox image, read through an overlay in a staging namespace. */
async function tsboxTree(root: string, ref: string): Promise<Map<string, string>> {
  const doc = JSON.parse((await tsbox(["image", "inspect", ref], { root, expect: 0 })).stdout)[0];
  const lower: string[] = doc.GraphDriver.Data.LowerDir.split(":");
  const scratch = await Deno.makeTempDir({ prefix: "tsbox-tree-" });
  for (const d of ["mnt", "up", "work"]) await Deno.mkdir(`${scratch}/${d}`);
  const staging = Staging.enter(NO_TRACE);
  try {
    mountOverlay(lower, `${scratch}/up`, `${scratch}/work`, `${scratch}/mnt`, NO_TRACE);
    return describeTree(`${scratch}/mnt`);
  } finally {
    staging.leave();
    await Deno.remove(scratch, { recursive: true });
  }
}

/** Podman, with its own storage, for comparisons. */
async function withPodman<T>(fn: (podman: (...a: string[]) => Promise<string>) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "podman-store-" });
  const podman = async (...a: string[]) =>
    (await host("podman", [
      "--root",
      `${dir}/root`,
      "--runroot",
      `${dir}/run`,
      "--storage-driver",
      "overlay",
      "--cgroup-manager",
      "cgroupfs",
      ...a,
    ])).stdout.trim();
  try {
    return await fn(podman);
  } finally {
    await podman("system", "reset", "-f").catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

rootTest(
  "pull a multi-layer image: whiteouts, opaque dirs, links, caps, devices; the rootfs is Podman's",
  async (root) => {
    await withRegistry(async (reg) => {
      const ref = `${reg.host}/layered:1`;
      const p = await tsbox(["pull", ref], { root, expect: 0 });
      assert.match(p.stdout, /^1: Pulling from layered\n/);
      assert.match(p.stdout, /: Pull complete\n/);
      assert.match(
        p.stdout,
        /\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for 127\.0\.0\.1:\d+\/layered:1\n127\.0\.0\.1:\d+\/layered:1\n$/,
      );
      const again = await tsbox(["pull", ref], { root, expect: 0 });
      assert.match(again.stdout, /Already exists/);
      assert.match(again.stdout, /Status: Image is up to date for/);
      const ours = await tsboxTree(root, ref);
      const theirs = await withPodman(async (podman) => {
        await podman("pull", "-q", "--tls-verify=false", ref);
        const mnt = await podman("image", "mount", ref);
        try {
          return describeTree(mnt);
        } finally {
          await podman("image", "unmount", ref);
        }
      });
      // The mountpoint itself is each tool's own directory, not the image's.
      ours.delete("/");
      theirs.delete("/");
      assert.deepEqual(treeDiff(ours, theirs), [], "tsbox's tree differs from Podman's");
      // What a user sees inside.
      assert.match(ours.get("/srv/pingcap")!, /security\.capability=/);
      assert.match(ours.get("/srv/suid")!, /^file 4755 /);
      assert.match(ours.get("/srv/owned")!, /^file 640 1000:2000 /);
      assert.match(ours.get("/srv/null")!, /^char /);
      assert.equal(ours.has("/etc/motd"), false, "a whiteout deletes");
      assert.equal(ours.has("/opt/data/a"), false, "an opaque dir hides the layers below");
      assert.match(ours.get("/srv/data/hl1")!, /nlink=3/, "one inode for the three links");
      const inside = await run(
        root,
        ref,
        "sh",
        "-c",
        "pwd; echo $FROM_IMAGE; ls /opt/data; cat /var/spool/x; stat -c '%i' /srv/data/hl1 /srv/other/hl3 | uniq | wc -l",
      );
      assert.equal(inside.stdout, "/srv\nyes\nnew\nreplaced\n1\n");
      assert.equal((await run(root, ref)).stdout, "cmd-ran\n", "the image's Cmd");
    });
  },
);

rootTest("pull zstd and uncompressed layers, an index by platform, 120 layers", async (root) => {
  await withRegistry(async (reg) => {
    const layered = await tsboxTree(root, await pulled(root, `${reg.host}/layered:1`));
    for (const name of ["zstd:1", "plain:1"]) {
      const ref = await pulled(root, `${reg.host}/${name}`);
      assert.deepEqual(treeDiff(await tsboxTree(root, ref), layered), [], name);
    }
    // The image's StopSignal (SIGUSR1) is what `stop` sends first.
    await tsbox([
      "run",
      "-d",
      "--network",
      "none",
      "--name",
      "stopper",
      `${reg.host}/layered:1`,
      "sh",
      "-c",
      "trap 'exit 7' USR1; while true; do sleep 0.1; done",
    ], { root, expect: 0 });
    await tsbox(["stop", "stopper"], { root, expect: 0 });
    const code = await tsbox(["inspect", "-f", "{{.State.ExitCode}}", "stopper"], {
      root,
      expect: 0,
    });
    assert.equal(code.stdout.trim(), "7");
    await tsbox(["rm", "stopper"], { root, expect: 0 });
    const multi = await tsbox(["pull", `${reg.host}/multi:1`], { root, expect: 0 });
    assert.match(multi.stdout, /Status: /);
    const ids = JSON.parse(
      (await tsbox(["image", "inspect", `${reg.host}/multi:1`, `${reg.host}/layered:1`], {
        root,
        expect: 0,
      })).stdout,
    );
    assert.equal(ids[0].Id, ids[1].Id, "the index resolves to the linux/amd64 image");
    assert.match(ids[0].RepoDigests.join(" "), /multi@sha256:/);
    const arm = await tsbox(["pull", "--platform", "linux/arm64", `${reg.host}/multi:1`], {
      root,
      expect: 0,
    });
    assert.match(arm.stdout, /Downloaded newer image/);
    const armDoc = JSON.parse(
      (await tsbox(["image", "inspect", `${reg.host}/multi:1`], { root, expect: 0 })).stdout,
    )[0];
    assert.equal(armDoc.Architecture, "arm64");
    const none = await tsbox(["pull", "--platform", "linux/s390x", `${reg.host}/multi:1`], {
      root,
    });
    assert.equal(none.code, 125);
    assert.match(none.stderr, /no matching manifest for linux\/s390x/);
    const many = `${reg.host}/many:1`;
    const r = await run(root, many, "sh", "-c", "ls /layers | wc -l; cat /layers/1 /layers/119");
    assert.equal(r.stdout, "119\n1\n119\n");
    assert.match(r.stderr, /Unable to find image '127\.0\.0\.1:\d+\/many:1' locally/);
    const doc =
      JSON.parse((await tsbox(["image", "inspect", many], { root, expect: 0 })).stdout)[0];
    assert.equal(doc.RootFS.Layers.length, 120);
    const remapped = await tsbox([
      "run",
      "--rm",
      "--network",
      "none",
      "--userns",
      "remap",
      many,
      "sh",
      "-c",
      "ls /layers | wc -l; stat -c %u /layers/7",
    ], { root, expect: 0 });
    assert.equal(remapped.stdout, "119\n0\n", "--userns remap id-maps all 120 layers");
  });
});

async function pulled(root: string, ref: string): Promise<string> {
  await tsbox(["pull", "-q", ref], { root, expect: 0 });
  return ref;
}

rootTest("pull errors are Docker's and leave nothing half-made", async (root) => {
  await withRegistry(async (reg) => {
    const missing = await tsbox(["pull", `${reg.host}/nothere:1`], { root });
    assert.equal(missing.code, 125);
    assert.match(
      missing.stderr,
      /manifest for 127\.0\.0\.1:\d+\/nothere:1 not found: .*manifest unknown/,
    );
    const badRef = await tsbox(["pull", "Bad/Name"], { root });
    assert.equal(badRef.code, 125);
    assert.match(badRef.stderr, /invalid reference format/);
    const never = await tsbox(
      ["run", "--rm", "--network", "none", "--pull", "never", `${reg.host}/layered:1`],
      { root },
    );
    assert.equal(never.code, 125);
    assert.match(never.stderr, /no such image/);
    // A registry that serves a blob whose bytes are not its digest (storage tampered with).
    const ref = `${reg.host}/layered:1`;
    const manifest = JSON.parse(
      (await host("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`])).stdout,
    );
    // The largest layer (over 4 MB: a worker thread takes it in).
    const top = [...manifest.layers].sort((a: { size: number }, b: { size: number }) =>
      b.size - a.size
    )[0];
    assert.ok(top.size > 4 << 20);
    const data = `${reg.dir}/data/docker/registry/v2/blobs/sha256/${top.digest.slice(7, 9)}/${
      top.digest.slice(7)
    }/data`;
    const good = Deno.readFileSync(data);
    const bad = good.slice();
    bad[bad.length - 100] = bad[bad.length - 100]! ^ 0xff;
    Deno.writeFileSync(data, bad);
    const r = await tsbox(["pull", ref], { root });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /digest mismatch|invalid|corrupt|checksum/i);
    assert.doesNotMatch((await tsbox(["images"], { root })).stdout, /layered/);
    assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], [], "no partial blob or layer left");
    Deno.writeFileSync(data, good);
    await tsbox(["pull", ref], { root, expect: 0 });
    // A digest that does not match what the registry has for it.
    const fake = `sha256:${await sha256Hex("not this")}`;
    await uploadBlob(
      reg.host,
      "fake",
      `sha256:${await sha256Hex("x")}`,
      new TextEncoder().encode("x"),
    );
    const byDigest = await tsbox(["pull", `${reg.host}/layered@${fake}`], { root });
    assert.equal(byDigest.code, 125);
  });
});

rootTest(
  "a registry that stops mid-blob: the pull retries, fails clearly, then succeeds",
  async (root) => {
    await withRegistry(async (reg) => {
      const ref = `${reg.host}/many:1`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--allow-all",
          new URL("../main.ts", import.meta.url).pathname,
          "pull",
          ref,
        ],
        env: { TSBOX_ROOT: root },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 300));
      await reg.stop();
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      if (out.code !== 0) {
        assert.equal(out.code, 125);
        assert.match(stderr, /connection|refused|reach registry|download blob/i);
        assert.doesNotMatch((await tsbox(["images"], { root })).stdout, /many/);
      }
      await reg.start();
      await tsbox(["pull", ref], { root, expect: 0 });
      assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], []);
    });
  },
);

rootTest("kill -9 during a pull leaves nothing visible; the next pull completes", async (root) => {
  await withRegistry(async (reg) => {
    const ref = `${reg.host}/many:1`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-all",
        new URL("../main.ts", import.meta.url).pathname,
        "pull",
        ref,
      ],
      env: { TSBOX_ROOT: root },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    // Killed as soon as the first of its 120 layers is complete: mid-pull.
    let seen = "";
    for await (const chunk of child.stdout) {
      seen += new TextDecoder().decode(chunk);
      if (seen.includes("Pull complete")) break;
    }
    child.kill("SIGKILL");
    await child.status;
    assert.doesNotMatch((await tsbox(["images"], { root })).stdout, /many/);
    const r = await tsbox(["pull", ref], { root, expect: 0 });
    assert.match(r.stdout, /Status: Downloaded newer image/);
    assert.deepEqual(
      [...Deno.readDirSync(`${root}/tmp`)],
      [],
      "the dead pull's temp files are gone",
    );
    assert.equal((await run(root, ref, "cat", "/layers/119")).stdout, "119\n");
  });
});

rootTest(
  "a full disk: a clear error, nothing half-stored, and a pull once there is room",
  async () => {
    const base = await Deno.makeTempDir({ prefix: "tsbox-test-full-" });
    await Deno.writeTextFile(`${base}/test-owner`, `${Deno.pid}\n`);
    const root = `${base}/root`;
    await Deno.mkdir(root);
    await host("mount", ["-t", "tmpfs", "-o", "size=3m", "tsbox-full", root]);
    try {
      await withRegistry(async (reg) => {
        const ref = `${reg.host}/layered:1`;
        const r = await tsbox(["pull", ref], { root });
        assert.equal(r.code, 125);
        assert.match(r.stderr, /ENOSPC|No space left on device/);
        assert.doesNotMatch((await tsbox(["images"], { root })).stdout, /layered/);
        assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], []);
        await host("mount", ["-o", "remount,size=64m", root]);
        await tsbox(["pull", ref], { root, expect: 0 });
      });
    } finally {
      await host("umount", ["-l", root]);
      await Deno.remove(base, { recursive: true });
    }
  },
  { image: false },
);
