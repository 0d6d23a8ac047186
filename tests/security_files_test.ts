// Root tests of the gaps around the escapes: tsbox's files under the state
// and run roots are private (0600/0700, root's), secrets given with -e and
// --env-file included, and stay so; images with symlinks that climb above
// "/" import and run, and are never followed outside the image; a setuid
// binary gains privileges unless --security-opt no-new-privileges; mknod of
// a block device works but opening it does not (Docker's default); and
// tsbox.json's pidsLimit applies to containers that do not set one.

import assert from "node:assert/strict";
import { busyboxTarball, host, rootTest, tsbox } from "./lib/harness.ts";
import { runD, supervisors } from "./lib/cli.ts";
import { cPrograms } from "./lib/cprog.ts";

/** Paths under the roots whose modes are the container's, not tsbox's. */
const CONTENT = [
  /^images\/[0-9a-f]{64}\/rootfs(\/|$)/, // the image's tree (a state root from before layers)
  /^layers\/[0-9a-f]{64}\/diff(\/|$)/, // a layer's tree
  /^containers\/[0-9a-f]{64}\/(upper|work)\//, // the container's writable layer, overlayfs' work dir
];
/** Files the container sees (bound over its /etc files), and its root: readable by its users. */
const CONTAINER_VISIBLE = /^containers\/[0-9a-f]{64}\/(hostname|hosts|resolv\.conf|upper)$/;

interface Entry {
  rel: string;
  path: string;
  info: Deno.FileInfo;
}

function walk(root: string, rel = ""): Entry[] {
  const out: Entry[] = [];
  for (const e of Deno.readDirSync(rel ? `${root}/${rel}` : root)) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (CONTENT.some((c) => c.test(r))) continue;
    const path = `${root}/${r}`;
    const info = Deno.lstatSync(path);
    out.push({ rel: r, path, info });
    if (info.isDirectory) out.push(...walk(root, r));
  }
  return out;
}

/** Entries tsbox made that are not private: mode bits for group or others, or another owner. */
function notPrivate(root: string): string[] {
  return walk(root).filter((e) =>
    e.rel !== "test-owner" && // written by the test harness
    !CONTAINER_VISIBLE.test(e.rel) && !e.info.isSymlink &&
    (((e.info.mode ?? 0) & 0o077) !== 0 || e.info.uid !== 0)
  ).map((e) => `${e.rel} ${((e.info.mode ?? 0) & 0o7777).toString(8)} uid ${e.info.uid}`);
}

rootTest(
  "files under the state and run roots are private, secrets included, and stay so",
  async (root) => {
    const secret = `s3cr3t-${crypto.randomUUID()}`;
    const envFile = await Deno.makeTempFile();
    await Deno.writeTextFile(envFile, `FROM_FILE=${secret}-file\n`);
    try {
      const id = await runD(
        root,
        "-e",
        `TOKEN=${secret}`,
        "--env-file",
        envFile,
        "busybox",
        "sh",
        "-c",
        `echo "$TOKEN"; echo logged; sleep 60`,
      );
      await tsbox(["run", "--rm", "--network", "none", "busybox", "true"], { root, expect: 0 });
      await tsbox(["create", "--network", "none", "-e", `TOKEN=${secret}`, "busybox", "true"], {
        root,
        expect: 0,
      });
      await tsbox(["logs", id], { root, expect: 0 });
      assert.deepEqual(
        notPrivate(root),
        [],
        "every file 0600, every directory 0700, owned by root",
      );
      // The container's own files keep what its users need, behind a 0700 directory.
      const dir = `${root}/containers/${id}`;
      assert.equal((Deno.statSync(dir).mode ?? 0) & 0o777, 0o700);
      assert.equal((Deno.statSync(`${dir}/hosts`).mode ?? 0) & 0o777, 0o644);
      assert.equal((Deno.statSync(`${dir}/upper`).mode ?? 0) & 0o777, 0o755);
      // The secret is only in private files (the spec, the database and its WAL, the log).
      const holders = walk(root).filter((e) => e.info.isFile).filter((e) => {
        try {
          return new TextDecoder().decode(Deno.readFileSync(e.path)).includes(secret);
        } catch {
          return false;
        }
      });
      assert.ok(holders.some((e) => e.rel.endsWith("config.json")), "found in the spec");
      for (const e of holders) assert.equal((e.info.mode ?? 0) & 0o077, 0, e.rel);
      for (const f of ["tsbox.db", "tsbox.db-wal", "tsbox.db-shm"]) {
        assert.equal((Deno.statSync(`${root}/${f}`).mode ?? 0) & 0o777, 0o600, f);
      }
      // The supervisor makes what it creates without a mode private.
      const [sup] = supervisors(root);
      assert.ok(sup, "a supervisor runs");
      assert.match(Deno.readTextFileSync(`/proc/${sup}/status`), /^Umask:\s+0077$/m);
      // A database left readable (an older tsbox) is private again on next use.
      for (const f of ["tsbox.db", "tsbox.db-wal", "tsbox.db-shm"]) {
        Deno.chmodSync(
          `${root}/${f}`,
          0o644,
        );
      }
      await tsbox(["ps", "-a"], { root, expect: 0 });
      for (const f of ["tsbox.db", "tsbox.db-wal", "tsbox.db-shm"]) {
        assert.equal((Deno.statSync(`${root}/${f}`).mode ?? 0) & 0o777, 0o600, `${f} again`);
      }
    } finally {
      await Deno.remove(envFile);
    }
  },
);

rootTest(
  "the container's users still read its /etc files and enter the directories tsbox makes",
  async (root) => {
    const vol = await Deno.makeTempDir();
    try {
      const r = await tsbox([
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "1000:1000",
        "-w",
        "/made/for/work",
        "-v",
        `${vol}:/deep/mount/point`,
        "busybox",
        "sh",
        "-c",
        "cat /etc/hostname /etc/hosts > /dev/null && ls / /deep/mount > /dev/null && pwd && stat -c %a / /made /deep",
      ], { root });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "/made/for/work\n755\n755\n755\n");
    } finally {
      await Deno.remove(vol, { recursive: true });
    }
  },
);

/** The busybox tarball plus `extra` files (paths relative to /, with modes), imported as `name`. */
async function importWith(
  root: string,
  name: string,
  extra: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-sec-img-" });
  try {
    await host("tar", ["-xf", await busyboxTarball(), "-C", dir]);
    await extra(dir);
    await host("tar", ["--numeric-owner", "-cf", `${dir}.tar`, "-C", dir, "."]);
    await tsbox(["import", `${dir}.tar`, name], { root, expect: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}.tar`).catch(() => {});
  }
}

rootTest(
  "an image with symlinks climbing above / imports and runs; they stay inside it",
  async (root) => {
    const hostPasswd = `/tmp/tsbox-sec-passwd-${crypto.randomUUID()}`;
    await Deno.writeTextFile(hostPasswd, "evil:x:4242:4242::/:/bin/sh\n");
    try {
      await importWith(root, "climbing", async (dir) => {
        // As in real images: a relative link past "/" that means "/" inside the container.
        await Deno.mkdir(`${dir}/usr/lib/x86_64-linux-gnu`, { recursive: true });
        await Deno.symlink("../../../../../bin/busybox", `${dir}/usr/lib/x86_64-linux-gnu/busybox`);
        // /etc/group climbing to a host file: read inside the image, where it does not exist.
        await Deno.remove(`${dir}/etc/group`);
        await Deno.symlink(`../../../../../../../..${hostPasswd}`, `${dir}/etc/group`);
        await Deno.remove(`${dir}/etc/passwd`);
        await Deno.symlink(`../../../../../../../..${hostPasswd}`, `${dir}/etc/passwd`);
      });
      const r = await tsbox(
        [
          "run",
          "--rm",
          "--network",
          "none",
          "climbing",
          "/usr/lib/x86_64-linux-gnu/busybox",
          "echo",
          "hi",
        ],
        { root },
      );
      assert.equal(r.stdout, "hi\n", r.stderr);
      const user = await tsbox(
        ["run", "--rm", "--network", "none", "-u", "evil", "climbing", "id"],
        { root },
      );
      assert.equal(user.code, 125, "the host's file is not the image's /etc/passwd");
      assert.match(user.stderr, /unable to find user evil/);
      await runD(root, "--name", "box", "climbing", "sleep", "60");
      const exec = await tsbox(["exec", "-u", "evil", "box", "id"], { root });
      assert.notEqual(exec.code, 0);
      assert.match(exec.stderr, /unable to find user evil/);
    } finally {
      await Deno.remove(hostPasswd);
    }
  },
);

rootTest(
  "an image whose /proc or /sys is a symlink is refused before its init mounts there",
  async (root) => {
    for (const [name, target] of [["proc", "/etc"], ["sys", "../../../../tmp"]] as const) {
      await importWith(root, `sym${name}`, async (dir) => {
        await Deno.remove(`${dir}/${name}`, { recursive: true });
        await Deno.symlink(target, `${dir}/${name}`);
      });
      const r = await tsbox(["run", "--rm", "--network", "none", `sym${name}`, "true"], { root });
      assert.equal(r.code, 125, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`mount destination "/${name}" goes through a symlink in the image`),
      );
    }
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
  },
);

rootTest("a setuid binary gains root unless --security-opt no-new-privileges", async (root) => {
  const bin = await cPrograms("showid");
  await importWith(root, "suid", async (dir) => {
    await Deno.copyFile(`${bin}/showid`, `${dir}/showid`);
    await Deno.chown(`${dir}/showid`, 0, 0);
    await Deno.chmod(`${dir}/showid`, 0o4755);
  });
  const run = (...flags: string[]) =>
    tsbox(["run", "--rm", "--network", "none", "-u", "1000:1000", ...flags, "suid", "/showid"], {
      root,
      expect: 0,
    });
  assert.equal((await run()).stdout, "uid=1000 euid=0 nnp=0\n", "Docker's default: setuid works");
  for (const opt of ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"]) {
    assert.equal(
      (await run("--security-opt", opt)).stdout,
      "uid=1000 euid=1000 nnp=1\n",
      opt,
    );
  }
  assert.equal(
    (await run("--security-opt", "no-new-privileges:false")).stdout,
    "uid=1000 euid=0 nnp=0\n",
  );
  await runD(root, "--name", "box", "--security-opt", "no-new-privileges", "suid", "sleep", "60");
  const exec = await tsbox(["exec", "-u", "1000", "box", "/showid"], { root, expect: 0 });
  assert.equal(exec.stdout, "uid=1000 euid=1000 nnp=1\n", "exec keeps the container's setting");
});

rootTest(
  "mknod of a block device works, using it does not (Docker's device list)",
  async (root) => {
    const r = await tsbox([
      "run",
      "--rm",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "mknod /tmp/disk b 7 0 && echo made && head -c1 /tmp/disk; echo rc=$?",
    ], { root, expect: 0 });
    assert.match(r.stdout, /^made\nrc=1\n$/);
    assert.match(r.stderr, /Operation not permitted/);
  },
);

rootTest(
  "tsbox.json's pidsLimit is the default --pids-limit; the flag overrides it",
  async (root) => {
    const config = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(config, JSON.stringify({ pidsLimit: 64 }));
    const env = { TSBOX_CONFIG: config };
    const limit = async (...flags: string[]) => {
      const id =
        (await tsbox(["run", "-d", "--network", "none", ...flags, "busybox", "sleep", "60"], {
          root,
          env,
          expect: 0,
        })).stdout.trim();
      const r = await tsbox(["inspect", "-f", "{{json .Cgroup.Effective}}", id], {
        root,
        env,
        expect: 0,
      });
      return JSON.parse(r.stdout).PidsLimit;
    };
    try {
      assert.equal(await limit(), 64);
      assert.equal(await limit("--pids-limit", "10"), 10);
      assert.notEqual(await limit("--pids-limit", "-1"), 64, "-1: no limit");
    } finally {
      await Deno.remove(config);
    }
  },
);

rootTest("volumes and cp resolve a container's symlinks inside its root", async (root) => {
  const hostDir = await Deno.makeTempDir({ prefix: "tsbox-sec-target-" });
  const vol = await Deno.makeTempDir({ prefix: "tsbox-sec-vol-" });
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "copied\n");
  try {
    await importWith(root, "links", async (dir) => {
      // Both name the host's directory from the host's view, the image's own one from inside.
      await Deno.mkdir(`${dir}${hostDir}`, { recursive: true });
      await Deno.symlink(`../../../../../../..${hostDir}`, `${dir}/data`);
      await Deno.symlink(hostDir, `${dir}/abs`);
    });
    // The volume lands on the image's own path the link names, not on the host's directory.
    await runD(
      root,
      "--name",
      "box",
      "-v",
      `${vol}:/data`,
      "links",
      "sh",
      "-c",
      "echo in > /data/w; sleep 60",
    );
    await tsbox(["exec", "box", "sh", "-c", "sleep 0.3; cat /data/w"], { root, expect: 0 });
    assert.equal(await Deno.readTextFile(`${vol}/w`), "in\n");
    // cp into the container through both links stays in the container.
    await tsbox(["cp", file, "box:/abs/x"], { root, expect: 0 });
    await tsbox(["cp", file, "box:/data/y"], { root, expect: 0 });
    const seen = await tsbox(["exec", "box", "cat", `${hostDir}/x`], { root, expect: 0 });
    assert.equal(seen.stdout, "copied\n");
    assert.deepEqual([...Deno.readDirSync(hostDir)], [], "nothing written to the host's directory");
  } finally {
    for (const p of [hostDir, vol, file]) await Deno.remove(p, { recursive: true });
  }
});
