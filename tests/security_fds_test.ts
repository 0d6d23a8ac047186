// Root tests of the leaked-fd class of escapes (runc CVE-2024-21626): no fd
// of tsbox's (the supervisor's, the exec CLI's: cgroup directories, the
// database, other containers' FIFOs...) exists in a container's process when
// anything of the container's is resolved, and a working directory through a
// magic link (/proc/self/fd/N, directly or through a symlink in the image)
// never leads outside the container's root. Seen from inside, at the first
// instruction of the user's program, /proc/self/fd is 0, 1 and 2.

import assert from "node:assert/strict";
import { busyboxTarball, host, rootTest, tsbox, TSBOX_PERMS } from "./lib/harness.ts";
import { main, runD } from "./lib/cli.ts";
import { cPrograms } from "./lib/cprog.ts";

/** The fd numbers a process of tsbox's could hand down: the loop, and more. */
const FDS = Array.from({ length: 62 }, (_, i) => i + 3);

/**
 * Imports "fdimg": busybox plus, for each N in FDS, /fdN -> /proc/self/fd/N
 * and a directory /proc/self/fd/N (so the working directory exists when the
 * image is prepared, and is a magic link once /proc is mounted: the image
 * form of the attack, which no check of the -w flag can see).
 */
async function importFdImage(root: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-sec-fdimg-" });
  try {
    await host("tar", ["-xf", await busyboxTarball(), "-C", dir]);
    for (const n of FDS) {
      await Deno.mkdir(`${dir}/proc/self/fd/${n}`, { recursive: true });
      await Deno.symlink(`/proc/self/fd/${n}`, `${dir}/fd${n}`);
    }
    await host("tar", ["--numeric-owner", "-cf", `${dir}.tar`, "-C", dir, "."]);
    await tsbox(["import", `${dir}.tar`, "fdimg"], { root, expect: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}.tar`).catch(() => {});
  }
}

/** A file on the host only: a process whose cwd is on the host reaches it by climbing "..". */
async function hostMarker(): Promise<{ rel: string; remove: () => Promise<void> }> {
  const path = `/tmp/tsbox-sec-marker-${crypto.randomUUID()}`;
  await Deno.writeTextFile(path, "host file\n");
  return { rel: `${"../".repeat(12)}${path.slice(1)}`, remove: () => Deno.remove(path) };
}

rootTest(
  "run: at its first instruction the container's process holds fds 0, 1 and 2 only",
  async (root) => {
    const bin = await cPrograms("fds");
    const fg = await tsbox([
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      `${bin}:/t:ro`,
      "busybox",
      "/t/fds",
    ], {
      root,
      expect: 0,
    });
    assert.equal(fg.stdout, "0 1 2\n", "run in the foreground");
    const withStdin = await tsbox(
      ["run", "--rm", "-i", "--network", "none", "-v", `${bin}:/t:ro`, "busybox", "/t/fds"],
      { root, stdin: "x", expect: 0 },
    );
    assert.equal(withStdin.stdout, "0 1 2\n", "run -i");
    // Detached: the supervisor holds the other containers' FIFOs, logs and pidfds meanwhile.
    await runD(root, "--name", "other", "busybox", "sleep", "60");
    const id = await runD(root, "-v", `${bin}:/t:ro`, "busybox", "/t/fds");
    await tsbox(["wait", id], { root, expect: 0 });
    assert.equal((await tsbox(["logs", id], { root, expect: 0 })).stdout, "0 1 2\n", "run -d");
    const tty = await host("script", [
      "-qec",
      `TSBOX_ROOT=${root} ${Deno.execPath()} run --quiet ${
        TSBOX_PERMS.join(" ")
      } ${main} run --rm -t --network none -v ${bin}:/t:ro busybox /t/fds`,
      "/dev/null",
    ]);
    // (The terminal echoes a NUL the CLI's relay writes as "^@", before or after.)
    assert.equal(tty.stdout.replaceAll("^@", "").trim(), "0 1 2", "run -t");
  },
);

rootTest("exec: at its first instruction the process holds fds 0, 1 and 2 only", async (root) => {
  const bin = await cPrograms("fds");
  await runD(root, "--name", "box", "-v", `${bin}:/t:ro`, "busybox", "sleep", "60");
  const plain = await tsbox(["exec", "box", "/t/fds"], { root, expect: 0 });
  assert.equal(plain.stdout, "0 1 2\n", "exec");
  const i = await tsbox(["exec", "-i", "box", "/t/fds"], { root, stdin: "x", expect: 0 });
  assert.equal(i.stdout, "0 1 2\n", "exec -i");
  const tty = await host("script", [
    "-qec",
    `TSBOX_ROOT=${root} ${Deno.execPath()} run --quiet ${
      TSBOX_PERMS.join(" ")
    } ${main} exec -t box /t/fds`,
    "/dev/null",
  ]);
  assert.equal(tty.stdout.replaceAll("^@", "").trim(), "0 1 2", "exec -t");
  await tsbox(["exec", "box", "sh", "-c", "/t/fds > /tmp/detached"], { root, expect: 0 });
  await tsbox(["exec", "-d", "box", "sh", "-c", "/t/fds > /tmp/d2"], { root, expect: 0 });
  const out = await tsbox(["exec", "box", "sh", "-c", "sleep 0.5; cat /tmp/detached /tmp/d2"], {
    root,
    expect: 0,
  });
  assert.equal(out.stdout, "0 1 2\n0 1 2\n", "exec -d");
});

rootTest(
  "run: a working directory through /proc/self/fd/N never leads out of the root",
  async (root) => {
    await importFdImage(root);
    const marker = await hostMarker();
    try {
      for (const n of FDS) {
        const r = await tsbox(
          ["run", "--rm", "--network", "none", "-w", `/fd${n}`, "fdimg", "cat", marker.rel],
          { root },
        );
        assert.doesNotMatch(r.stdout, /host file/, `fd ${n}: read the host's file`);
        assert.equal(r.code, 125, `fd ${n}: ${r.stdout} ${r.stderr}`);
        assert.match(
          r.stderr,
          /container init: openat2 "\/fd\d+" \(working directory, no magic links\)/,
        );
      }
    } finally {
      await marker.remove();
    }
    // Given directly, such a path is refused before anything is created.
    for (
      const w of [
        "/proc/self/fd/5",
        "/proc/thread-self/fd/3",
        "/proc/1/cwd",
        "/tmp/../proc/self/cwd",
      ]
    ) {
      const r = await tsbox(["run", "--rm", "--network", "none", "-w", w, "busybox", "true"], {
        root,
      });
      assert.equal(r.code, 125, w);
      assert.match(
        r.stderr,
        /the working directory ".*" is refused: \/proc\/\S+ holds links to files of processes/,
      );
    }
    const ps = await tsbox(["ps", "-aq"], { root, expect: 0 });
    assert.equal(ps.stdout, "", "refused runs created nothing");
  },
);

rootTest(
  "exec: a working directory through /proc/self/fd/N never leads out of the root",
  async (root) => {
    await importFdImage(root);
    await runD(root, "--name", "box", "fdimg", "sleep", "120");
    const marker = await hostMarker();
    try {
      for (const n of FDS) {
        const r = await tsbox(["exec", "-w", `/fd${n}`, "box", "cat", marker.rel], { root });
        assert.doesNotMatch(r.stdout, /host file/, `fd ${n}: read the host's file`);
        assert.notEqual(r.code, 0, `fd ${n}`);
        assert.match(r.stderr, /openat2 "\/fd\d+" \(working directory, no magic links\)/);
      }
    } finally {
      await marker.remove();
    }
    const direct = await tsbox(["exec", "-w", "/proc/self/fd/3", "box", "true"], { root });
    assert.equal(direct.code, 125);
    assert.match(direct.stderr, /the working directory "\/proc\/self\/fd\/3" is refused/);
    assert.equal(
      (await tsbox(["exec", "-w", "/tmp", "box", "pwd"], { root, expect: 0 })).stdout,
      "/tmp\n",
    );
  },
);
