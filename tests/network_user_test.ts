// Root tests of user networks (`tsbox network create/ls/inspect/rm`): their
// own bridge and default subnets, containers reaching each other by name
// (their /etc/hosts rewritten in place as peers come and go), isolation from
// other networks, refusals (in use, overlapping, bad input), address
// exhaustion, and tsbox's nftables table going with the last network. All
// inside the test's own namespaces (tests/lib/netns.ts).

import assert from "node:assert/strict";
import { type Topology, topologyTest, waitFor } from "./lib/netns.ts";

interface Inspect {
  Id: string;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Options: Record<string, string>;
  Containers: Record<string, { Name: string; IPv4Address: string }>;
}

async function inspect(t: Topology, net: string): Promise<Inspect> {
  const r = await t.tsbox(["network", "inspect", net], { expect: 0 });
  return (JSON.parse(r.stdout) as Inspect[])[0]!;
}

/** Starts a sleeping container on `net` and waits until it has its address; returns it. */
async function sleeper(
  t: Topology,
  name: string,
  net: string,
): Promise<{ proc: Deno.ChildProcess; address: string; id: string }> {
  const proc = t.spawnTsbox([
    "run",
    "--rm",
    "--name",
    name,
    "--network",
    net,
    "busybox",
    "sleep",
    "60",
  ]);
  const [id, c] = await waitFor(`${name} on ${net}`, async () => {
    const found = Object.entries((await inspect(t, net)).Containers).find(([, c]) =>
      c.Name === name
    );
    if (!found) return undefined;
    const ps = await t.tsbox(["ps"]);
    return ps.stdout.includes(` ${name}`) ? found : undefined;
  });
  return { proc, address: c.IPv4Address.split("/")[0]!, id };
}

topologyTest(
  "user networks: by-name reach, live /etc/hosts, isolation, rm refused in use",
  async (t) => {
    const frontId = (await t.tsbox(["network", "create", "front"], { expect: 0 })).stdout.trim();
    await t.tsbox(["network", "create", "back"], { expect: 0 });
    const front = await inspect(t, "front");
    assert.equal(front.Id, frontId);
    assert.deepEqual(front.IPAM.Config, [{ Subnet: "172.18.0.0/16", Gateway: "172.18.0.1" }]);
    assert.deepEqual((await inspect(t, "back")).IPAM.Config[0]?.Subnet, "172.19.0.0/16");
    const bridge = front.Options["com.docker.network.bridge.name"]!;
    assert.match(bridge, /^tsbox-[0-9a-f]{8}$/);
    const links = (await t.host.ip<{ ifname: string }[]>("link")).map((l) => l.ifname);
    assert.ok(links.includes(bridge), links.join(" "));
    const ls = await t.tsbox(["network", "ls"], { expect: 0 });
    assert.match(ls.stdout, /front\s+bridge\s+local\s+172\.18\.0\.0\/16/);

    const alpha = await sleeper(t, "alpha", "front");
    const beta = await sleeper(t, "beta", "front");
    const gamma = await sleeper(t, "gamma", "back");
    const procs = [alpha.proc, beta.proc, gamma.proc];
    try {
      // By name, through /etc/hosts.
      const r = await t.tsbox([
        "run",
        "--rm",
        "--network",
        "front",
        "busybox",
        "sh",
        "-c",
        "ping -c1 -W2 alpha >/dev/null && ping -c1 -W2 beta >/dev/null && echo BOTH",
      ], { expect: 0 });
      assert.match(r.stdout, /BOTH/);
      const hostsOf = (id: string) => Deno.readTextFile(`${t.root}/containers/${id}/hosts`);
      assert.match(await hostsOf(alpha.id), new RegExp(`^${beta.address}\\tbeta$`, "m"));
      assert.doesNotMatch(await hostsOf(alpha.id), /gamma/);

      // Isolation: back cannot reach front, neither way.
      const iso = await t.tsbox([
        "run",
        "--rm",
        "--network",
        "back",
        "busybox",
        "ping",
        "-c1",
        "-W2",
        alpha.address,
      ]);
      assert.notEqual(iso.code, 0, "a container on back reached one on front");
      const iso2 = await t.tsbox([
        "run",
        "--rm",
        "--network",
        "front",
        "busybox",
        "ping",
        "-c1",
        "-W2",
        gamma.address,
      ]);
      assert.notEqual(iso2.code, 0, "a container on front reached one on back");
      // The outside is reachable from both.
      for (const net of ["front", "back"]) {
        const out = await t.tsbox([
          "run",
          "--rm",
          "--network",
          net,
          "busybox",
          "ping",
          "-c1",
          "-W2",
          t.outsideIp,
        ]);
        assert.equal(out.code, 0, `${net} -> outside: ${out.stderr}`);
      }

      const busy = await t.tsbox(["network", "rm", "front"]);
      assert.notEqual(busy.code, 0);
      assert.match(
        busy.stderr,
        /network has active endpoints \(alpha, beta\)|network has active endpoints \(beta, alpha\)/,
      );

      // beta leaves: alpha's hosts file (the same inode, bind-mounted) forgets it.
      const inode = (await Deno.stat(`${t.root}/containers/${alpha.id}/hosts`)).ino;
      await t.tsbox(["rm", "-f", "beta"], { expect: 0 });
      assert.doesNotMatch(await hostsOf(alpha.id), /beta/);
      assert.equal((await Deno.stat(`${t.root}/containers/${alpha.id}/hosts`)).ino, inode);
      const seen = await t.tsbox([
        "run",
        "--rm",
        "--network",
        "front",
        "busybox",
        "cat",
        "/etc/hosts",
      ]);
      assert.match(seen.stdout, new RegExp(`^${alpha.address}\\talpha$`, "m"));
    } finally {
      await t.tsbox(["rm", "-f", "alpha", "beta", "gamma"]);
      for (const p of procs) await p.output();
    }
    await t.tsbox(["network", "rm", "front", "back"], { expect: 0 });
    const after = (await t.host.run(["nft", "list", "ruleset"])).stdout;
    assert.doesNotMatch(after, /tsbox/, "the table goes with the last network");
    const linksAfter = (await t.host.ip<{ ifname: string }[]>("link")).map((l) => l.ifname);
    assert.deepEqual(linksAfter.filter((l) => l.startsWith("tsbox") || l.startsWith("veth")), []);
  },
);

topologyTest("network create refuses bad input and overlaps, having created nothing", async (t) => {
  await t.tsbox([
    "network",
    "create",
    "--subnet",
    "10.88.0.0/24",
    "--gateway",
    "10.88.0.254",
    "lab",
  ], {
    expect: 0,
  });
  assert.deepEqual((await inspect(t, "lab")).IPAM.Config, [{
    Subnet: "10.88.0.0/24",
    Gateway: "10.88.0.254",
  }]);
  const cases: [string[], RegExp][] = [
    [
      ["--subnet", "10.88.0.0/16", "x1"],
      /subnet 10\.88\.0\.0\/16 overlaps network lab \(10\.88\.0\.0\/24\)/,
    ],
    [["--subnet", "172.17.5.0/24", "x2"], /overlaps network bridge \(172\.17\.0\.0\/16\)/],
    [["--subnet", "10.99.300.0/24", "x3"], /invalid subnet "10\.99\.300\.0\/24"/],
    [["--subnet", "10.89.0.1/24", "x4"], /it should be 10\.89\.0\.0\/24/],
    [["--subnet", "10.89.0.0/24", "--gateway", "10.90.0.1", "x5"], /invalid gateway 10\.90\.0\.1/],
    [["lab"], /network with name lab already exists/],
    [["bridge"], /bridge is a pre-defined network/],
    [["bad/name"], /invalid network name/],
    [["-d", "overlay", "x6"], /network driver "overlay" is not supported/],
  ];
  for (const [args, want] of cases) {
    const r = await t.tsbox(["network", "create", ...args]);
    assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
  const ls = await t.tsbox(["network", "ls", "-q"], { expect: 0 });
  assert.equal(ls.stdout.trim().split("\n").length, 4, "bridge, lab, host, none");
  const links = (await t.host.ip<{ ifname: string }[]>("link")).filter((l) =>
    l.ifname.startsWith("tsbox-")
  );
  assert.equal(links.length, 1);
  const unknown = await t.tsbox(["network", "rm", "nosuch"]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /network nosuch not found/);
});

topologyTest("a full network refuses the next container with a clear error", async (t) => {
  await t.tsbox(["network", "create", "--subnet", "10.77.0.0/30", "tiny"], { expect: 0 });
  const first = await sleeper(t, "only", "tiny");
  try {
    assert.equal(first.address, "10.77.0.2");
    const r = await t.tsbox([
      "run",
      "--rm",
      "--name",
      "second",
      "--network",
      "tiny",
      "busybox",
      "true",
    ]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /no available IPv4 address on network tiny \(10\.77\.0\.0\/30\)/);
    const ps = await t.tsbox(["ps", "-aq"], { expect: 0 });
    assert.equal(ps.stdout.trim().split("\n").length, 1, "--rm removed the refused container");
  } finally {
    await t.tsbox(["rm", "-f", "only"]);
    await first.proc.output();
  }
  // The address is free again.
  const again = await t.tsbox([
    "run",
    "--rm",
    "--network",
    "tiny",
    "busybox",
    "ip",
    "-4",
    "-o",
    "addr",
    "show",
    "eth0",
  ], {
    expect: 0,
  });
  assert.match(again.stdout, /inet 10\.77\.0\.2\/30/);
});
