// The container's process: environment, working directory, user, exit
// codes, signals, a real terminal, --rm and --name.

import assert from "node:assert/strict";
import { host, rootTest, tsbox, TSBOX_PERMS } from "./lib/harness.ts";

const run = (root: string, ...args: string[]) =>
  tsbox(["run", "--rm", "--network", "none", ...args], { root });
const main = new URL("../main.ts", import.meta.url).pathname;

rootTest("-e, --env-file, -w and -u", async (root) => {
  const f = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(f, "# comment\nFROM_FILE=yes\nBOTH=file\n");
    const r = await run(
      root,
      "-e",
      "A=1",
      "--env-file",
      f,
      "-e",
      "BOTH=flag",
      "-w",
      "/tmp/work",
      "-u",
      "1000:1001",
      "busybox",
      "sh",
      "-c",
      "echo $A $FROM_FILE $BOTH $HOSTNAME; pwd; id -u; id -g; echo $PATH",
    );
    const [env, cwd, uid, gid, path] = r.stdout.trim().split("\n");
    assert.match(env!, /^1 yes flag [0-9a-f]{12}$/);
    assert.equal(cwd, "/tmp/work");
    assert.equal(uid, "1000");
    assert.equal(gid, "1001");
    assert.equal(path, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    const named = await run(root, "-u", "nobody", "busybox", "id");
    assert.match(named.stdout, /uid=65534\(nobody\) gid=65534\(nogroup\)/);
  } finally {
    await Deno.remove(f);
  }
});

rootTest(
  "exit codes: the command's own, 128+N for signals, 125/126/127 for tsbox, exec and lookup errors",
  async (root) => {
    assert.equal((await run(root, "busybox", "sh", "-c", "exit 42")).code, 42);
    assert.equal(
      (await run(root, "busybox", "sh", "-c", "sleep 10 & kill -9 $!; wait $!")).code,
      137,
    );
    const nf = await run(root, "busybox", "no-such-command");
    assert.equal(nf.code, 127);
    assert.match(nf.stderr, /exec "no-such-command": executable file not found in \$PATH/);
    const ne = await run(root, "busybox", "/etc/passwd");
    assert.equal(ne.code, 126);
    assert.match(
      ne.stderr,
      /exec "\/etc\/passwd": execve "\/etc\/passwd": EACCES \(Permission denied\)/,
    );
    const bad = await run(root, "--no-such-flag", "busybox", "true");
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unknown flag: --no-such-flag/);
    const img = await run(root, "no-such-image", "true");
    assert.equal(img.code, 125);
    // As Docker: a missing image is pulled (here Docker Hub is out of reach).
    assert.match(img.stderr, /Unable to find image 'no-such-image:latest' locally/);
    const never = await run(root, "--pull", "never", "no-such-image", "true");
    assert.equal(never.code, 125);
    assert.match(never.stderr, /no such image: no-such-image/);
    assert.equal((await tsbox(["ps", "-aq"], { root })).stdout, "", "--rm removed them all");
  },
);

rootTest(
  "signals to tsbox reach the container's PID 1; a kill from outside gives 128+9",
  async (root) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...TSBOX_PERMS,
        main,
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "sig-target",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done",
      ],
      env: { TSBOX_ROOT: root },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /ready/);
    child.kill("SIGTERM");
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const status = await child.status;
    assert.match(rest, /got TERM/);
    assert.equal(status.code, 7);

    await tsbox(["run", "-d", "--network", "none", "--name", "victim", "busybox", "sleep", "100"], {
      root,
      expect: 0,
    });
    const pid = (await tsbox(["inspect", "-f", "{{.State.Pid}}", "victim"], { root })).stdout
      .trim();
    await host("kill", ["-9", pid]);
    assert.equal((await tsbox(["wait", "victim"], { root, expect: 0 })).stdout.trim(), "137");
  },
);

rootTest(
  "-t gives a real terminal: raw mode, window size, and Ctrl-C reaching the container",
  async (root) => {
    const cmd = `stty cols 91 rows 27; TSBOX_ROOT=${root} ${Deno.execPath()} run --quiet ${
      TSBOX_PERMS.join(" ")
    } ${main} run --rm -it --network none busybox sh -c 'tty; stty size'`;
    const r = await host("script", ["-qec", cmd, "/dev/null"], { check: false });
    assert.match(r.stdout, /\/dev\/pts\/0/);
    assert.match(r.stdout, /27 91/);
    // Ctrl-C interrupts a foreground sleep inside the container's shell, not tsbox.
    // (The test cannot know when the shell is ready for input: it waits generously.)
    const t0 = Date.now();
    const keys = "sleep 30\r";
    const script =
      `(sleep 1.5; printf '${keys}'; sleep 0.5; printf '\\003'; sleep 0.3; printf 'echo after-$((6*7))\\r'; sleep 0.3; printf 'exit 3\\r') | script -qec "TSBOX_ROOT=${root} ${Deno.execPath()} run --quiet ${
        TSBOX_PERMS.join(" ")
      } ${main} run --rm -it --network none busybox sh" /dev/null`;
    const s = await host("sh", ["-c", script], { check: false });
    assert.match(s.stdout, /after-42/);
    assert.ok(Date.now() - t0 < 20_000, "the sleep was interrupted");
  },
  {},
);

rootTest(
  "--name names the container; --rm removes it; without --rm it stays exited",
  async (root) => {
    await tsbox(["run", "--network", "none", "--name", "keeper", "busybox", "true"], {
      root,
      expect: 0,
    });
    const ps = await tsbox(["ps", "-a", "--format", "{{.Names}} {{.State}}"], { root, expect: 0 });
    assert.equal(ps.stdout, "keeper exited\n");
    const dup = await tsbox(["run", "--network", "none", "--name", "keeper", "busybox", "true"], {
      root,
    });
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /the container name "\/keeper" is already in use/);
  },
);

rootTest("--trace prints each step with its duration, clone to execve", async (root) => {
  const r = await run(root, "--trace", "busybox", "true");
  assert.equal(r.code, 0);
  for (
    const step of ["mount overlay", "clone3", "pivot_root", "capset", "execve", "clone-to-execve"]
  ) {
    assert.match(r.stderr, new RegExp(step), step);
  }
  assert.match(r.stderr, /^trace\s+\d+\.\d{3} ms\s+\+\s*\d+\.\d{3}\s+(parent|child)/m);
});
