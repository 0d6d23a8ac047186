// `tsbox exec` and `tsbox cp`: a command run in a running container joins
// all of its namespaces and its cgroup with its capabilities and root (seen
// from inside and from the host), takes -i/-t/-e/-u/-w, returns the
// command's exit code, and is refused for a stopped or paused container;
// files are copied into and out of running and stopped containers.

import assert from "node:assert/strict";
import { host, rootTest, tsbox, TSBOX_PERMS } from "./lib/harness.ts";
import { main, runD, until } from "./lib/cli.ts";

async function pidOf(root: string, ref: string): Promise<number> {
  const r = await tsbox(["inspect", "-f", "{{.State.Pid}}", ref], { root, expect: 0 });
  return Number(r.stdout.trim());
}

const exec = (root: string, ...args: string[]) => tsbox(["exec", ...args], { root });

/** The fields of /proc/PID/status. */
function status(pid: number): Record<string, string> {
  return Object.fromEntries(
    Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").filter(Boolean).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1).trim()];
    }),
  );
}

/** Host pids in the PID namespace of `pid` whose command line is `cmd`. */
function findInNamespace(pid: number, cmd: string): number[] {
  const ns = Deno.readLinkSync(`/proc/${pid}/ns/pid`);
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/ns/pid`) !== ns) continue;
      const c = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0").filter(Boolean)
        .join(" ");
      if (c === cmd) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

rootTest(
  "exec sees the container's PID namespace, hostname, files and network",
  async (root) => {
    await runD(
      root,
      "--name",
      "box",
      "-h",
      "boxhost",
      "busybox",
      "sh",
      "-c",
      "echo written-by-init > /tmp/mark; exec sleep 60",
    );
    const pid = await pidOf(root, "box");
    await until(
      "the mark file",
      async () => (await exec(root, "box", "cat", "/tmp/mark")).code === 0,
    );
    const r = await exec(
      root,
      "box",
      "sh",
      "-c",
      "cat /tmp/mark; hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts; " +
        "readlink /proc/self/ns/ipc; readlink /proc/self/ns/mnt; readlink /proc/self/ns/cgroup; " +
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; ip -o link | wc -l; echo pid=$$",
    );
    assert.equal(r.code, 0, r.stderr);
    const [mark, hostname, net, uts, ipc, mnt, cgroup, init, links, self] = r.stdout.trim().split(
      "\n",
    );
    assert.equal(mark, "written-by-init", "a file the container wrote");
    assert.equal(hostname, "boxhost");
    for (const [ns, seen] of Object.entries({ net, uts, ipc, mnt, cgroup })) {
      assert.equal(seen, Deno.readLinkSync(`/proc/${pid}/ns/${ns}`), ns);
      assert.notEqual(seen, Deno.readLinkSync(`/proc/self/ns/${ns}`), `${ns} is not the host's`);
    }
    assert.equal(init!.trim(), "sleep 60", "PID 1 is the container's command");
    assert.equal(links!.trim(), "1", "only lo, like the container (--network none)");
    assert.notEqual(self, "pid=1");
    // ps inside: PID 1 is the container's command, and nothing of the host.
    const ps = await exec(root, "box", "ps", "-o", "pid,args");
    const rows = ps.stdout.trim().split("\n").slice(1).map((l) => l.trim());
    assert.match(rows[0]!, /^1 +sleep 60$/);
    assert.ok(rows.length <= 3, ps.stdout);
    // A file exec writes is the container's too.
    await exec(root, "box", "sh", "-c", "echo from-exec > /tmp/back");
    assert.equal(
      Deno.readTextFileSync(`/proc/${pid}/root/tmp/back`),
      "from-exec\n",
      "seen through the container's root",
    );
  },
);

rootTest(
  "exec runs in the container's cgroup, with its capabilities and root, seen from the host",
  async (root) => {
    await runD(
      root,
      "--name",
      "caps",
      "--cap-drop",
      "NET_RAW",
      "-m",
      "64m",
      "busybox",
      "sleep",
      "60",
    );
    const pid = await pidOf(root, "caps");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...TSBOX_PERMS, main, "exec", "caps", "sleep", "31"],
      env: { TSBOX_ROOT: root },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const [ep] = await until(
        "the exec'd process",
        () =>
          Promise.resolve(
            findInNamespace(pid, "sleep 31").length === 1 && findInNamespace(pid, "sleep 31"),
          ),
      );
      const mine = status(ep!), init = status(pid);
      for (
        const k of [
          "CapEff",
          "CapPrm",
          "CapBnd",
          "CapInh",
          "CapAmb",
          "NoNewPrivs",
          "Seccomp",
          "Uid",
          "Gid",
        ]
      ) {
        assert.equal(mine[k], init[k], k);
      }
      assert.equal(
        Deno.readTextFileSync(`/proc/${ep}/cgroup`),
        Deno.readTextFileSync(`/proc/${pid}/cgroup`),
        "every hierarchy: the container's cgroup",
      );
      for (const ns of ["pid", "net", "mnt", "uts", "ipc", "cgroup", "user"]) {
        assert.equal(
          Deno.readLinkSync(`/proc/${ep}/ns/${ns}`),
          Deno.readLinkSync(`/proc/${pid}/ns/${ns}`),
          ns,
        );
      }
      const rootOf = (p: number) => Deno.statSync(`/proc/${p}/root/`);
      assert.equal(rootOf(ep!).ino, rootOf(pid).ino, "same root directory");
      assert.equal(rootOf(ep!).dev, rootOf(pid).dev, "on the same filesystem");
      // tsbox top shows it among the container's processes.
      const top = await tsbox(["top", "caps"], { root, expect: 0 });
      assert.match(top.stdout, new RegExp(`\\s${ep}\\s+\\d+\\s.*sleep 31$`, "m"));
    } finally {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await child.stderr.cancel();
    }
  },
);

rootTest(
  "exec takes the container's env, user and workdir, and -e, -u, -w override them",
  async (root) => {
    await runD(
      root,
      "--name",
      "envy",
      "-e",
      "FROM_RUN=1",
      "-u",
      "1000:1000",
      "-w",
      "/tmp",
      "busybox",
      "sleep",
      "60",
    );
    const probe = "echo $FROM_RUN-$EXTRA; id -u; id -g; pwd";
    const plain = await exec(root, "envy", "sh", "-c", probe);
    assert.equal(plain.stdout, "1-\n1000\n1000\n/tmp\n");
    const custom = await exec(
      root,
      "-e",
      "EXTRA=2",
      "-u",
      "nobody",
      "-w",
      "/etc",
      "envy",
      "sh",
      "-c",
      probe,
    );
    assert.equal(custom.stdout, "1-2\n65534\n65534\n/etc\n");
    const rootUser = await exec(root, "-u", "0:0", "envy", "id", "-u");
    assert.equal(rootUser.stdout, "0\n");
    const numeric = await exec(
      root,
      "--user",
      "123:456",
      "--workdir",
      "/",
      "--env",
      "X=y",
      "envy",
      "sh",
      "-c",
      "id -u; id -g; pwd; echo $X",
    );
    assert.equal(numeric.stdout, "123\n456\n/\ny\n");
  },
);

rootTest("exec returns the command's exit code; 126 and 127 when it cannot run", async (root) => {
  await runD(root, "--name", "codes", "busybox", "sleep", "60");
  assert.equal((await exec(root, "codes", "sh", "-c", "exit 42")).code, 42);
  assert.equal((await exec(root, "codes", "true")).code, 0);
  assert.equal((await exec(root, "codes", "sh", "-c", "kill -9 $$")).code, 137);
  const nf = await exec(root, "codes", "no-such-command");
  assert.equal(nf.code, 127);
  assert.match(nf.stderr, /executable file not found in \$PATH/);
  const ne = await exec(root, "codes", "/etc/passwd");
  assert.equal(ne.code, 126);
  const cwd = await exec(root, "-w", "/no/such/dir", "codes", "true");
  assert.notEqual(cwd.code, 0);
  assert.equal((await pidOf(root, "codes")) > 0, true, "failed execs leave the container running");
});

rootTest("exec -i passes stdin; without -i the command reads nothing", async (root) => {
  await runD(root, "--name", "cat", "busybox", "sleep", "60");
  const withI = await tsbox(["exec", "-i", "cat", "sh", "-c", "cat; echo end"], {
    root,
    stdin: "piped in\n",
  });
  assert.equal(withI.code, 0);
  assert.equal(withI.stdout, "piped in\nend\n");
  const without = await tsbox(["exec", "cat", "sh", "-c", "cat; echo end"], {
    root,
    stdin: "ignored\n",
  });
  assert.equal(without.stdout, "end\n");
});

rootTest("exec -t gives the command a terminal; without -t it has none", async (root) => {
  await runD(root, "--name", "term", "busybox", "sleep", "60");
  const cmd = `stty cols 77 rows 23; TSBOX_ROOT=${root} ${Deno.execPath()} run --quiet ${
    TSBOX_PERMS.join(" ")
  } ${main} exec -it term sh -c 'tty; stty size; echo $TERM; exit 3'`;
  const r = await host("script", ["-qec", cmd, "/dev/null"], { check: false });
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, /23 77/);
  assert.match(r.stdout, /xterm/);
  assert.equal(r.code, 3, "script passes on the exit code");
  const none = await exec(root, "term", "tty");
  assert.equal(none.code, 1);
  assert.match(none.stdout, /not a tty/);
});

rootTest(
  "exec into a stopped or created container fails with 1, changing nothing",
  async (root) => {
    await runD(root, "--name", "gone", "busybox", "true");
    await tsbox(["wait", "gone"], { root, expect: 0 });
    await tsbox(["create", "--network", "none", "--name", "unborn", "busybox", "true"], {
      root,
      expect: 0,
    });
    for (const name of ["gone", "unborn"]) {
      const r = await exec(root, name, "true");
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, new RegExp(`container ${name} is not running`));
    }
    assert.equal(
      (await tsbox(["ps", "-a", "--format", "{{.Names}} {{.State}}"], { root, expect: 0 })).stdout
        .trim().split("\n").sort().join(","),
      "gone exited,unborn created",
    );
  },
);

rootTest("exec into a paused container fails with 1 until it is unpaused", async (root) => {
  await runD(root, "--name", "frozen", "busybox", "sleep", "60");
  const pause = await tsbox(["pause", "frozen"], { root });
  if (pause.code !== 0) {
    console.error(`skipped: tsbox pause is not available here: ${pause.stderr.trim()}`);
    return;
  }
  try {
    assert.match(
      (await tsbox(["ps", "--format", "{{.Status}}"], { root, expect: 0 })).stdout,
      /^Up .* \(Paused\)$/m,
    );
    const r = await exec(root, "frozen", "true");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /container frozen is paused, unpause the container before exec/);
  } finally {
    await tsbox(["unpause", "frozen"], { root, expect: 0 });
  }
  assert.equal((await exec(root, "frozen", "true")).code, 0);
});

rootTest("exec with too few arguments is a usage error (125)", async (root) => {
  await runD(root, "--name", "few", "busybox", "sleep", "60");
  const r = await exec(root, "few");
  assert.equal(r.code, 125);
  assert.match(r.stderr, /requires at least 2 arguments/);
  assert.equal((await exec(root, "--bogus", "few", "true")).code, 125);
});

// --- cp ---------------------------------------------------------------------

rootTest("cp copies files and directories into and out of a running container", async (root) => {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-cp-" });
  try {
    await runD(
      root,
      "--name",
      "live",
      "busybox",
      "sh",
      "-c",
      "mkdir -p /out/sub; echo inside > /out/sub/f; exec sleep 60",
    );
    const pid = await pidOf(root, "live");
    await until(
      "the container's files",
      async () => (await exec(root, "live", "cat", "/out/sub/f")).code === 0,
    );
    await Deno.writeTextFile(`${dir}/in.txt`, "from the host\n");
    await Deno.mkdir(`${dir}/tree/deep`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/deep/leaf`, "leaf\n");
    await tsbox(["cp", `${dir}/in.txt`, "live:/tmp/in.txt"], { root, expect: 0 });
    await tsbox(["cp", `${dir}/tree`, "live:/tmp/"], { root, expect: 0 });
    assert.equal((await exec(root, "live", "cat", "/tmp/in.txt")).stdout, "from the host\n");
    assert.equal((await exec(root, "live", "cat", "/tmp/tree/deep/leaf")).stdout, "leaf\n");
    assert.equal(
      Deno.readTextFileSync(`/proc/${pid}/root/tmp/in.txt`),
      "from the host\n",
    );
    await tsbox(["cp", "live:/out/sub/f", `${dir}/f`], { root, expect: 0 });
    assert.equal(await Deno.readTextFile(`${dir}/f`), "inside\n");
    await tsbox(["cp", "live:/out", `${dir}/copied`], { root, expect: 0 });
    assert.equal(await Deno.readTextFile(`${dir}/copied/sub/f`), "inside\n");
    const missing = await tsbox(["cp", "live:/no/such/file", `${dir}/x`], { root });
    assert.notEqual(missing.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

rootTest("cp copies into and out of a stopped container, kept for its next start", async (root) => {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-cp-" });
  try {
    await runD(
      root,
      "--name",
      "idle",
      "busybox",
      "sh",
      "-c",
      "echo made-while-running > /made; test -e /given && cat /given",
    );
    await tsbox(["wait", "idle"], { root, expect: 0 });
    await tsbox(["cp", "idle:/made", `${dir}/made`], { root, expect: 0 });
    assert.equal(await Deno.readTextFile(`${dir}/made`), "made-while-running\n");
    await Deno.writeTextFile(`${dir}/given`, "given while stopped\n");
    await tsbox(["cp", `${dir}/given`, "idle:/given"], { root, expect: 0 });
    assert.equal(
      (await tsbox(["ps", "-a", "--format", "{{.State}}"], { root, expect: 0 })).stdout,
      "exited\n",
      "cp did not start it",
    );
    await tsbox(["start", "idle"], { root, expect: 0 });
    assert.equal((await tsbox(["wait", "idle"], { root, expect: 0 })).stdout.trim(), "0");
    assert.equal(
      (await tsbox(["logs", "idle"], { root, expect: 0 })).stdout,
      "given while stopped\n",
    );
    // And a container that was only created.
    await tsbox(["create", "--network", "none", "--name", "new", "busybox", "cat", "/given"], {
      root,
      expect: 0,
    });
    await tsbox(["cp", `${dir}/given`, "new:/given"], { root, expect: 0 });
    await tsbox(["start", "new"], { root, expect: 0 });
    await tsbox(["wait", "new"], { root, expect: 0 });
    assert.equal(
      (await tsbox(["logs", "new"], { root, expect: 0 })).stdout,
      "given while stopped\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
