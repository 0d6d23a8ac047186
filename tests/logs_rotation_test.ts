// Logs that grow: `logs` and `logs --tail` stream a log of hundreds of
// megabytes in small memory (the CLI's resident memory is watched from
// /proc), rotation by --log-opt max-size/max-file (and the defaults of
// tsbox.json), --log-driver none, and a flooding container whose log stays
// whole records while others keep logging.

import assert from "node:assert/strict";
import { host, rootTest, tsbox, TSBOX_PERMS } from "./lib/harness.ts";
import { Background, fmt, inspect, main, runD, sleep } from "./lib/cli.ts";

/** Runs `tsbox ARGS` with stdout to /dev/null; returns its exit code, stderr and peak RSS (kB). */
async function peakRss(root: string, args: string[]): Promise<{ code: number; rssKb: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...TSBOX_PERMS, main, ...args],
    env: { TSBOX_ROOT: root },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let peak = 0;
  let done = false;
  const status = child.status.then((s) => (done = true, s));
  while (!done) {
    try {
      const hwm = Deno.readTextFileSync(`/proc/${child.pid}/status`).match(/VmHWM:\s+(\d+)/);
      if (hwm) peak = Math.max(peak, Number(hwm[1]));
    } catch { /* exited */ }
    await sleep(10);
  }
  return { code: (await status).code, rssKb: peak };
}

rootTest("logs and logs --tail stream a 300 MB log in small memory", async (root) => {
  const id = await runD(root, "--name", "big", "busybox", "sh", "-c", "echo first");
  await tsbox(["wait", "big"], { root, expect: 0 });
  // 300 MB of records, written by the test (a container would take minutes).
  const path = `${root}/containers/${id}/container.log`;
  const rec = (i: number) =>
    JSON.stringify({ log: `line ${i} ${"x".repeat(90)}\n`, stream: "stdout", time: "t" }) + "\n";
  const block = new TextEncoder().encode(Array.from({ length: 8192 }, (_, i) => rec(i)).join(""));
  const f = await Deno.open(path, { append: true });
  try {
    for (let written = 0; written < 300e6; written += block.length) {
      for (let off = 0; off < block.length;) off += await f.write(block.subarray(off));
    }
    const last = new TextEncoder().encode(rec(-1).replace("line -1", "the end"));
    for (let off = 0; off < last.length;) off += await f.write(last.subarray(off));
  } finally {
    f.close();
  }
  const tail = await tsbox(["logs", "--tail", "2", "big"], { root, expect: 0 });
  assert.equal(tail.stdout, `line 8191 ${"x".repeat(90)}\nthe end ${"x".repeat(90)}\n`);
  for (const args of [["logs", "big"], ["logs", "--tail", "3", "big"]]) {
    const r = await peakRss(root, args);
    assert.equal(r.code, 0, args.join(" "));
    assert.ok(r.rssKb < 200_000, `${args.join(" ")}: peak RSS ${r.rssKb} kB for a 300 MB log`);
  }
  const head = await host("sh", [
    "-c",
    `TSBOX_ROOT=${root} ${Deno.execPath()} run --quiet ${
      TSBOX_PERMS.join(" ")
    } ${main} logs big | head -c 100000 | head -n 2`,
  ]);
  assert.equal(head.stdout, `first\nline 0 ${"x".repeat(90)}\n`);
});

rootTest(
  "--log-opt max-size/max-file rotate the log; logs reads the files in order",
  async (root) => {
    await runD(
      root,
      "--name",
      "rot",
      "--log-opt",
      "max-size=2k",
      "--log-opt",
      "max-file=3",
      "busybox",
      "sh",
      "-c",
      "i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo line $i; done",
    );
    await tsbox(["wait", "rot"], { root, expect: 0 });
    const d = await inspect(root, "rot");
    assert.deepEqual(d.HostConfig.LogConfig, {
      Type: "json-file",
      Config: { "max-size": "2048", "max-file": "3" },
    });
    const dir = `${root}/containers/${d.Id}`;
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n.startsWith("container.log")
    ).sort();
    assert.deepEqual(files, ["container.log", "container.log.1", "container.log.2"]);
    for (const f of files) {
      const size = Deno.statSync(`${dir}/${f}`).size;
      assert.ok(size <= 2048, `${f}: ${size} bytes`);
    }
    const lines = (await tsbox(["logs", "rot"], { root, expect: 0 })).stdout.split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.at(-1), "line 400");
    const first = Number(lines[0]!.split(" ")[1]);
    assert.ok(first > 1, "the oldest lines were rotated away");
    assert.deepEqual(lines, Array.from({ length: 401 - first }, (_, i) => `line ${first + i}`));
    assert.equal(
      (await tsbox(["logs", "--tail", "50", "rot"], { root, expect: 0 })).stdout,
      Array.from({ length: 50 }, (_, i) => `line ${351 + i}\n`).join(""),
      "--tail across files",
    );
  },
);

rootTest("logs -f follows the log across rotations", async (root) => {
  await runD(
    root,
    "--name",
    "follow",
    "--log-opt",
    "max-size=1k",
    "--log-opt",
    "max-file=2",
    "busybox",
    "sh",
    "-c",
    "while [ ! -e /tmp/go ]; do sleep 0.1; done; i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line $i; [ $((i % 10)) = 0 ] && sleep 0.1; done",
  );
  const f = new Background(root, ["logs", "-f", "follow"]);
  try {
    await sleep(500);
    await tsbox(["exec", "follow", "touch", "/tmp/go"], { root, expect: 0 });
    assert.equal(await f.finished(30_000), 0);
    assert.equal(f.out, Array.from({ length: 300 }, (_, i) => `line ${i + 1}\n`).join(""));
  } finally {
    await f.kill();
  }
});

rootTest("--log-driver none keeps no log, and logs says so", async (root) => {
  await runD(root, "--name", "quiet", "--log-driver", "none", "busybox", "echo", "hi");
  await tsbox(["wait", "quiet"], { root, expect: 0 });
  const r = await tsbox(["logs", "quiet"], { root });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /configured logging driver does not support reading/);
  const id = await fmt(root, "quiet", "{{.Id}}");
  assert.deepEqual(
    [...Deno.readDirSync(`${root}/containers/${id}`)].filter((e) => e.name.includes("log")),
    [],
  );
  assert.equal(await fmt(root, "quiet", "{{.HostConfig.LogConfig.Type}}"), "none");
});

rootTest(
  "the host's tsbox.json sets the default log driver and options; flags win",
  async (root) => {
    // Like Docker's daemon.json, it is read by the process that creates the
    // container (the supervisor, started here with it), and by the CLI to check.
    const config = `${root}/tsbox.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({ logDriver: "local", logOpts: { "max-size": "3k", "max-file": "2" } }),
    );
    const env = { TSBOX_CONFIG: config };
    const cid = (await tsbox(["run", "-d", "--network", "none", "busybox", "sleep", "30"], {
      root,
      env,
      expect: 0,
    })).stdout.trim();
    const d = await inspect(root, cid);
    assert.deepEqual(d.HostConfig.LogConfig, {
      Type: "local",
      Config: { "max-size": "3072", "max-file": "2" },
    });
    // Flags win over the file.
    const c2 = (await tsbox(
      ["create", "--network", "none", "--log-opt", "max-size=5k", "busybox", "true"],
      { root, env, expect: 0 },
    )).stdout.trim();
    assert.equal(
      JSON.stringify((await inspect(root, c2)).HostConfig.LogConfig),
      JSON.stringify({ Type: "local", Config: { "max-size": "5120", "max-file": "2" } }),
    );
    await tsbox(["rm", "-f", cid], { root, expect: 0 });
  },
);

rootTest("bad log options exit 125 with one line and create nothing", async (root) => {
  const cases: [string[], RegExp][] = [
    [["--log-driver", "syslog"], /no log driver named "syslog"/],
    [["--log-opt", "max-size=abc"], /invalid value for log opt max-size: "abc"/],
    [["--log-opt", "max-file=0"], /invalid value for log opt max-file/],
    [["--log-opt", "compress=true"], /unknown log opt "compress" for json-file log driver/],
    [["--log-driver", "none", "--log-opt", "max-size=1m"], /unknown log opt "max-size"/],
  ];
  for (const [flags, want] of cases) {
    for (const verb of [["run", "-d"], ["create"]]) {
      const r = await tsbox([...verb, "--network", "none", ...flags, "busybox", "true"], { root });
      assert.equal(r.code, 125, `${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  }
  const bad = `${root}/bad.json`;
  await Deno.writeTextFile(bad, JSON.stringify({ logDriver: "syslog" }));
  const r = await tsbox(["run", "--rm", "--network", "none", "busybox", "true"], {
    root,
    env: { TSBOX_CONFIG: bad },
  });
  assert.equal(r.code, 125);
  assert.match(r.stderr, /no log driver named "syslog"/);
  assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
});

rootTest(
  "a flooding container's log is whole records; a quiet one's lines all arrive",
  async (root) => {
    await runD(
      root,
      "--name",
      "flood",
      "--log-opt",
      "max-size=5m",
      "--log-opt",
      "max-file=2",
      "busybox",
      "yes",
      "a line of output from a container that never stops writing",
    );
    await runD(
      root,
      "--name",
      "quiet",
      "busybox",
      "sh",
      "-c",
      "i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo tick $i; sleep 0.05; done",
    );
    assert.equal((await tsbox(["wait", "quiet"], { root, expect: 0 })).stdout.trim(), "0");
    // A container started meanwhile works.
    const r = await tsbox(["run", "--rm", "--network", "none", "busybox", "echo", "ok"], {
      root,
      expect: 0,
    });
    assert.equal(r.stdout, "ok\n");
    await tsbox(["kill", "flood"], { root, expect: 0 });
    await tsbox(["wait", "flood"], { root });
    const dir = `${root}/containers/${await fmt(root, "flood", "{{.Id}}")}`;
    const want = "a line of output from a container that never stops writing\n";
    const logs: string[] = [];
    for (const name of ["container.log.1", "container.log"]) {
      const text = await Deno.readTextFile(`${dir}/${name}`);
      assert.ok(text.endsWith("\n"));
      logs.push(...text.split("\n").filter(Boolean).map((line) => JSON.parse(line).log));
    }
    // Every record whole; the last may be the line the kill cut short.
    const last = logs.pop()!;
    assert.ok(want.startsWith(last), JSON.stringify(last));
    const records = logs.length;
    assert.deepEqual(logs.filter((l) => l !== want), []);
    assert.ok(records > 1000, `${records} records`);
    assert.equal(
      (await tsbox(["logs", "quiet"], { root, expect: 0 })).stdout,
      Array.from({ length: 30 }, (_, i) => `tick ${i + 1}\n`).join(""),
    );
  },
);
