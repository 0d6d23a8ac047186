// A detached container's output: `logs` (stdout on stdout, stderr on
// stderr), --tail, -t, -f, a terminal's output, partial and long lines, and
// `attach`, which streams new output, sends input to a -i or -t container,
// detaches on Ctrl-P Ctrl-Q and returns the container's exit code.

import assert from "node:assert/strict";
import { host, rootTest, tsbox, TSBOX_PERMS } from "./lib/harness.ts";
import { Background, fmt, main, runD, sleep, until } from "./lib/cli.ts";

/** Runs a container to its end; returns its exit code. */
async function runToEnd(root: string, ...args: string[]): Promise<number> {
  await runD(root, ...args);
  const name = args[args.indexOf("--name") + 1]!;
  return Number((await tsbox(["wait", name], { root, expect: 0 })).stdout.trim());
}

rootTest("logs: stdout lines on stdout, stderr lines on stderr, each in order", async (root) => {
  const code = await runToEnd(
    root,
    "--name",
    "talk",
    "busybox",
    "sh",
    "-c",
    "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 4",
  );
  assert.equal(code, 4);
  const r = await tsbox(["logs", "talk"], { root, expect: 0 });
  assert.equal(r.stdout, "out1\nout2\n");
  assert.equal(r.stderr, "err1\nerr2\n");
  // Logs stay after the container stopped and go with it.
  await tsbox(["rm", "talk"], { root, expect: 0 });
  assert.notEqual((await tsbox(["logs", "talk"], { root })).code, 0);
});

rootTest("logs --tail N shows the last N lines of both streams", async (root) => {
  await runToEnd(
    root,
    "--name",
    "many",
    "busybox",
    "sh",
    "-c",
    // Across streams the order is only as the supervisor reads them: pause between.
    "for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i; done; sleep 0.3; echo oops >&2; sleep 0.3; echo last",
  );
  const tail = async (...args: string[]) =>
    await tsbox(["logs", ...args, "many"], { root, expect: 0 });
  const t3 = await tail("--tail", "3");
  assert.equal(t3.stdout, "line10\nlast\n");
  assert.equal(t3.stderr, "oops\n");
  assert.equal((await tail("-n", "1")).stdout, "last\n");
  const t0 = await tail("--tail", "0");
  assert.equal(t0.stdout + t0.stderr, "");
  assert.equal((await tail("--tail", "all")).stdout.split("\n").length, 12);
  assert.equal((await tail("--tail", "100")).stdout.split("\n").length, 12);
});

rootTest("logs -t prefixes each line with the RFC 3339 time it was written", async (root) => {
  await runToEnd(root, "--name", "stamped", "busybox", "sh", "-c", "echo a; sleep 0.5; echo b >&2");
  const r = await tsbox(["logs", "-t", "stamped"], { root, expect: 0 });
  const re = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)$/;
  const a = r.stdout.trim().match(re), b = r.stderr.trim().match(re);
  assert.ok(a && b, `${r.stdout} ${r.stderr}`);
  assert.equal(a[2], "a");
  assert.equal(b[2], "b");
  const started = Date.parse(await fmt(root, "stamped", "{{.State.StartedAt}}"));
  const finished = Date.parse(await fmt(root, "stamped", "{{.State.FinishedAt}}"));
  const ta = Date.parse(a[1]!), tb = Date.parse(b[1]!);
  assert.ok(started - 1000 <= ta && ta <= tb && tb <= finished + 1000, `${a[1]} ${b[1]}`);
  assert.ok(tb - ta >= 400, "the times are when each line was written");
  const both = await tsbox(["logs", "-t", "--tail", "1", "stamped"], { root, expect: 0 });
  assert.match(both.stderr.trim(), re);
  assert.equal(both.stdout, "");
});

rootTest("logs -f follows new lines and ends when the container stops", async (root) => {
  await runD(
    root,
    "--name",
    "slow",
    "busybox",
    "sh",
    "-c",
    "echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo second; echo third >&2; sleep 0.3; echo fourth",
  );
  const f = new Background(root, ["logs", "-f", "slow"]);
  try {
    await f.waitFor(/^first\n$/);
    await sleep(300);
    assert.equal(f.out, "first\n", "nothing else yet");
    await tsbox(["exec", "slow", "touch", "/tmp/go"], { root, expect: 0 });
    assert.equal(await f.finished(), 0, "logs -f returns once the container has stopped");
    assert.equal(f.out, "first\nsecond\nfourth\n");
    assert.equal(f.err, "third\n");
  } finally {
    await f.kill();
  }
  // On a stopped container -f prints everything and returns.
  const done = await tsbox(["logs", "-f", "--tail", "1", "slow"], { root, expect: 0 });
  assert.equal(done.stdout, "fourth\n");
});

rootTest("logs -f --tail 0 shows only what comes after it started", async (root) => {
  await runD(
    root,
    "--name",
    "ticker",
    "busybox",
    "sh",
    "-c",
    "echo old; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo new",
  );
  await until(
    "old in the logs",
    async () => (await tsbox(["logs", "ticker"], { root })).stdout === "old\n",
  );
  const f = new Background(root, ["logs", "-f", "--tail", "0", "ticker"]);
  try {
    await sleep(2000); // let it start and read the end of the log
    await tsbox(["exec", "ticker", "touch", "/tmp/go"], { root, expect: 0 });
    assert.equal(await f.finished(), 0);
    assert.equal(f.out, "new\n");
  } finally {
    await f.kill();
  }
});

rootTest("an unterminated last line and a 40 kB line are kept whole", async (root) => {
  await runToEnd(
    root,
    "--name",
    "partial",
    "busybox",
    "sh",
    "-c",
    "echo whole; printf 'no newline'",
  );
  assert.equal((await tsbox(["logs", "partial"], { root, expect: 0 })).stdout, "whole\nno newline");
  await runToEnd(
    root,
    "--name",
    "long",
    "busybox",
    "sh",
    "-c",
    "head -c 40000 /dev/zero | tr '\\0' x; echo; echo after",
  );
  const lines = (await tsbox(["logs", "long"], { root, expect: 0 })).stdout.split("\n");
  assert.equal(lines[0], "x".repeat(40000));
  assert.deepEqual(lines.slice(1), ["after", ""]);
});

rootTest("a -t container's terminal output goes to its log", async (root) => {
  const code = await runToEnd(root, "-t", "--name", "term", "busybox", "sh", "-c", "tty; echo hi");
  assert.equal(code, 0);
  const out = (await tsbox(["logs", "term"], { root, expect: 0 })).stdout;
  assert.equal(out.replaceAll("\r\n", "\n"), "/dev/pts/0\nhi\n");
});

rootTest("logs keep what a container printed before and after `start`", async (root) => {
  await runToEnd(root, "--name", "twice", "busybox", "sh", "-c", "echo run");
  await tsbox(["start", "twice"], { root, expect: 0 });
  await tsbox(["wait", "twice"], { root, expect: 0 });
  await until(
    "two runs in the log",
    async () => (await tsbox(["logs", "twice"], { root })).stdout === "run\nrun\n",
  );
});

rootTest(
  "attach streams new output, not old, and returns the container's exit code",
  async (root) => {
    await runD(
      root,
      "--name",
      "att",
      "busybox",
      "sh",
      "-c",
      "echo early; i=0; while [ ! -e /tmp/stop ]; do echo tick$i; i=$((i+1)); sleep 0.2; done; " +
        "echo bye; echo bye-err >&2; exit 5",
    );
    await until(
      "early in the logs",
      async () => (await tsbox(["logs", "att"], { root })).stdout.startsWith("early\n"),
    );
    const a = new Background(root, ["attach", "att"]);
    try {
      await a.waitFor(/tick\d+\n(.|\n)*tick\d+\n/);
      await tsbox(["exec", "att", "touch", "/tmp/stop"], { root, expect: 0 });
      assert.equal(await a.finished(), 5);
      assert.doesNotMatch(a.out, /early/, "attach shows only new output");
      assert.match(a.out, /bye\n$/);
      assert.equal(a.err, "bye-err\n");
    } finally {
      await a.kill();
    }
  },
);

rootTest("attach passes its signals on to the container", async (root) => {
  await runD(
    root,
    "--name",
    "proxied",
    "busybox",
    "sh",
    "-c",
    "trap 'echo got-int; exit 9' INT; while :; do echo tick; sleep 0.2; done",
  );
  const a = new Background(root, ["attach", "proxied"]);
  try {
    await a.waitFor(/tick/); // attach is streaming: its signal handlers are in place
    a.child.kill("SIGINT");
    assert.equal(await a.finished(), 9);
    assert.match(a.out, /got-int/);
    assert.equal(await fmt(root, "proxied", "{{.State.Status}} {{.State.ExitCode}}"), "exited 9");
  } finally {
    await a.kill();
  }
});

rootTest("run -di keeps stdin open; attach sends our input to it", async (root) => {
  await runD(
    root,
    "-i",
    "--name",
    "reader",
    "busybox",
    "sh",
    "-c",
    'while read l; do [ "$l" = quit ] && exit 6; echo "got $l"; done; echo eof',
  );
  // Nothing attached: its stdin stays open, so it keeps waiting for input.
  await sleep(500);
  assert.equal(await fmt(root, "reader", "{{.State.Status}}"), "running");
  const a = new Background(root, ["attach", "reader"], { stdin: "piped" });
  const w = a.child.stdin.getWriter();
  try {
    const enc = new TextEncoder();
    await w.write(enc.encode("hello\n"));
    await a.waitFor(/got hello\n/);
    await w.write(enc.encode("world\nquit\n"));
    assert.equal(await a.finished(), 6);
    assert.equal(a.out, "got hello\ngot world\n");
    assert.equal(await fmt(root, "reader", "{{.State.Status}} {{.State.ExitCode}}"), "exited 6");
  } finally {
    await w.close().catch(() => {});
    await a.kill();
  }
});

rootTest(
  "attach to a -t container: typed input, our window size, Ctrl-P Ctrl-Q detaches",
  async (root) => {
    await runD(root, "-it", "--name", "box", "busybox", "sh");
    const attach = `TSBOX_ROOT=${root} ${Deno.execPath()} run --quiet ${
      TSBOX_PERMS.join(" ")
    } ${main} attach box; echo attach-exit=$?`;
    // The test cannot know when attach is ready for input: it waits generously.
    const keys =
      `(sleep 1.5; printf 'echo typed-$((6*7))\\r'; sleep 0.5; printf 'stty size\\r'; sleep 0.5; printf '\\020\\021'; sleep 0.5)`;
    const r = await host("sh", [
      "-c",
      `${keys} | script -qec "stty cols 93 rows 29; ${attach}" /dev/null`,
    ], { check: false });
    assert.match(r.stdout, /typed-42\r\n/, "output comes back once, as the terminal sent it");
    assert.doesNotMatch(r.stdout, /\r\r\n/, "our terminal is fully raw");
    assert.match(r.stdout, /29 93/);
    assert.match(r.stdout, /attach-exit=0/);
    assert.equal(await fmt(root, "box", "{{.State.Status}}"), "running", "detached, not stopped");
    assert.match((await tsbox(["logs", "box"], { root, expect: 0 })).stdout, /typed-42/);
    // Attaching to a paused container is refused, as by Docker.
    await tsbox(["pause", "box"], { root, expect: 0 });
    const p = await tsbox(["attach", "box"], { root });
    assert.equal(p.code, 1);
    assert.match(p.stderr, /cannot attach to a paused container/);
    await tsbox(["unpause", "box"], { root, expect: 0 });
  },
);

rootTest("start -a shows a container's output from its first byte and returns its code", async (
  root,
) => {
  await tsbox(
    [
      "create",
      "--network",
      "none",
      "--name",
      "once",
      "busybox",
      "sh",
      "-c",
      "echo first; echo err >&2; exit 3",
    ],
    { root, expect: 0 },
  );
  for (let i = 0; i < 2; i++) { // and again, once it has exited
    const r = await tsbox(["start", "-a", "once"], { root });
    assert.equal(r.code, 3);
    assert.equal(r.stdout, "first\n");
    assert.equal(r.stderr, "err\n");
  }
  await tsbox(
    [
      "create",
      "-i",
      "--network",
      "none",
      "--name",
      "rd",
      "busybox",
      "sh",
      "-c",
      'read l; echo "got $l"',
    ],
    { root, expect: 0 },
  );
  const a = new Background(root, ["start", "-ai", "rd"], { stdin: "piped" });
  const w = a.child.stdin.getWriter();
  try {
    await w.write(new TextEncoder().encode("hi\n"));
    assert.equal(await a.finished(), 0);
    assert.equal(a.out, "got hi\n");
  } finally {
    await w.close().catch(() => {});
    await a.kill();
  }
  const two = await tsbox(["start", "-a", "once", "rd"], { root });
  assert.equal(two.code, 125);
  assert.match(two.stderr, /cannot start and attach multiple containers/);
});
