// Bad input exits 125 with one clear line and leaves nothing (it is refused
// before anything is recorded or made), and what Docker accepts is accepted:
// `-p 0:80` (a random host port), `-p 80:80/sctp`, `-v /data` (an anonymous
// volume, filled from the image, kept by `rm`, gone with `rm -v` and --rm).

import assert from "node:assert/strict";
import { busyboxTarball, rootTest, tsbox } from "./lib/harness.ts";
import { inspect, runD } from "./lib/cli.ts";
import { type Topology, topologyTest, waitFor } from "./lib/netns.ts";

function dirNames(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return [];
  }
}

const BAD: [string[], RegExp][] = [
  [["--memory", "99999999999999999999999"], /invalid argument .* for "--memory" flag: .*too large/],
  [["-v", "/nonexistent-rel:/x"], /bind source path does not exist: \/nonexistent-rel/],
  [["--sysctl", "net.ipv4.bogus=1"], /this kernel has no parameter net.ipv4.bogus/],
  [["--sysctl", "net.ipv4.ip_forward=abc"], /net.ipv4.ip_forward=abc: expected an integer/],
  [["--tmpfs", "/x:size=abc"], /invalid value for tmpfs option "size=abc"/],
  [["--tmpfs", "/x:bogus"], /unknown tmpfs option "bogus"/],
  [["--tmpfs", "/x:mode=999999"], /invalid value for tmpfs option "mode=999999"/],
];

rootTest("bad input exits 125 with one line and leaves nothing", async (root) => {
  for (const [flags, want] of BAD) {
    for (const verb of [["run", "-d"], ["run", "--rm"], ["create"]]) {
      const what = [...verb, ...flags].join(" ");
      const r = await tsbox([...verb, "--network", "none", ...flags, "busybox", "true"], { root });
      assert.equal(r.code, 125, `${what}: ${r.stderr}`);
      assert.match(r.stderr, want, what);
      assert.equal(r.stderr.trim().split("\n").length, 1, `${what}: one line: ${r.stderr}`);
      assert.ok(!r.stderr.includes(`${root}/containers`), `${what}: no internal path`);
      assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "", what);
      assert.deepEqual(dirNames(`${root}/containers`), [], what);
    }
  }
});

rootTest(
  "-v /data is an anonymous volume: filled from the image, kept by rm, gone with rm -v",
  async (root) => {
    // Filled from the image (Docker's copy-up), writable, and gone with --rm.
    const r = await tsbox(
      [
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/etc",
        "busybox",
        "sh",
        "-c",
        "head -1 /etc/passwd; touch /etc/new && echo rw",
      ],
      { root, expect: 0 },
    );
    assert.equal(r.stdout, "root:x:0:0:root:/root:/bin/sh\nrw\n");
    const volumes = () => {
      try {
        return [...Deno.readDirSync(`${root}/volumes`)].map((e) => e.name);
      } catch {
        return [];
      }
    };
    assert.deepEqual(volumes(), [], "--rm removed it");
    // It outlives stop and start.
    await runD(
      root,
      "--name",
      "keep",
      "-v",
      "/data",
      "busybox",
      "sh",
      "-c",
      "cat /data/f 2>/dev/null; echo hi > /data/f",
    );
    await tsbox(["wait", "keep"], { root, expect: 0 });
    await tsbox(["start", "keep"], { root, expect: 0 });
    await tsbox(["wait", "keep"], { root, expect: 0 });
    assert.equal((await tsbox(["logs", "keep"], { root, expect: 0 })).stdout, "hi\n");
    assert.equal(volumes().length, 1);
    assert.equal(Deno.readTextFileSync(`${root}/volumes/${volumes()[0]}/_data/f`), "hi\n");
    // rm keeps it (as Docker), system prune --volumes removes it.
    await tsbox(["rm", "keep"], { root, expect: 0 });
    assert.equal(volumes().length, 1);
    const df = (await tsbox(["system", "df"], { root, expect: 0 })).stdout;
    assert.match(df, /Local Volumes\s+1\s+0\s/);
    await tsbox(["system", "prune", "-f", "--volumes"], { root, expect: 0 });
    assert.deepEqual(volumes(), []);
    // rm -v removes it with the container.
    await runD(root, "--name", "gone", "-v", "/data", "busybox", "true");
    await tsbox(["wait", "gone"], { root, expect: 0 });
    assert.equal(volumes().length, 1);
    await tsbox(["rm", "-v", "gone"], { root, expect: 0 });
    assert.deepEqual(volumes(), []);
  },
);

/** curl from `ns`; the body, or undefined. */
async function get(ns: Topology["host"], url: string): Promise<string | undefined> {
  const r = await ns.run(["curl", "-sS", "-m", "3", url], { check: false });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

topologyTest("-p 0:80 publishes on a random host port; -p 80:80/sctp is accepted", async (t) => {
  await t.tsbox([
    "run",
    "-d",
    "--name",
    "web",
    "-p",
    "0:80",
    "busybox",
    "sh",
    "-c",
    "mkdir /www && echo random > /www/index.html && httpd -f -p 80 -h /www",
  ], { expect: 0 });
  const line = (await t.tsbox(["port", "web"], { expect: 0 })).stdout.trim();
  const m = line.match(/^80\/tcp -> 0\.0\.0\.0:(\d+)$/);
  assert.ok(m, line);
  const port = Number(m[1]);
  assert.ok(port > 0);
  assert.equal(
    await waitFor("the random port", () => get(t.outside, `http://${t.hostIp}:${port}/`)),
    "random",
  );
  await t.tsbox(["run", "-d", "--name", "sctp", "-p", "9132:80/sctp", "busybox", "sleep", "60"], {
    expect: 0,
  });
  assert.equal(
    (await t.tsbox(["port", "sctp"], { expect: 0 })).stdout.trim(),
    "80/sctp -> 0.0.0.0:9132",
  );
  const rules = (await t.host.run(["nft", "list", "chain", "ip", "tsbox", "ports"])).stdout;
  assert.match(rules, /sctp dport 9132/);
  await t.tsbox(["rm", "-f", "web", "sctp"], { expect: 0 });
  assert.doesNotMatch(
    (await t.host.run(["nft", "list", "chain", "ip", "tsbox", "ports"])).stdout,
    /dport/,
  );
});

rootTest("an image's VOLUME is an anonymous volume unless a mount is there", async (root) => {
  await tsbox(
    ["import", "--change", "VOLUME /data /var/cache", await busyboxTarball(), "withvol"],
    { root, expect: 0 },
  );
  const r = await tsbox(
    [
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      "/tmp:/var/cache:ro",
      "withvol",
      "sh",
      "-c",
      "grep -E ' /(data|var/cache) ' /proc/self/mountinfo | wc -l; touch /data/x && echo rw",
    ],
    { root, expect: 0 },
  );
  assert.equal(r.stdout, "2\nrw\n");
  const id = (await tsbox(["create", "--network", "none", "withvol", "true"], { root, expect: 0 }))
    .stdout.trim();
  const mounts = (await inspect(root, id)).Mounts as { Destination: string; Type: string }[];
  assert.deepEqual(mounts.map((m) => `${m.Type} ${m.Destination}`).sort(), [
    "volume /data",
    "volume /var/cache",
  ]);
  await tsbox(["rm", "-v", id], { root, expect: 0 });
});
