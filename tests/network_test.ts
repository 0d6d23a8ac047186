// Root tests of the default `bridge` network: the container's address, MAC,
// route and /etc/hosts; NAPT to the outside (with distinct translated ports
// and `network inspect` translations); --network none and container:NAME; a
// foreign FORWARD chain with policy drop; teardown after tsbox was killed.
// Each test builds its own topology (tests/lib/netns.ts): tsbox runs inside a
// "host" namespace (10.99.0.1) joined to an "outside" one (10.99.0.2); the
// machine's own network namespace is never changed.

import assert from "node:assert/strict";
import {
  denoInContainer,
  startPeerRecorder,
  type Topology,
  topologyTest,
  waitFor,
} from "./lib/netns.ts";

interface Inspect {
  Containers: Record<string, { Name: string; IPv4Address: string; MacAddress: string }>;
  Translations: {
    Kind: string;
    Container: string;
    ContainerAddress: string;
    HostAddress: string;
  }[];
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
}

async function inspect(t: Topology, net = "bridge"): Promise<Inspect> {
  const r = await t.tsbox(["network", "inspect", net], { expect: 0 });
  return (JSON.parse(r.stdout) as Inspect[])[0]!;
}

async function hostLinks(t: Topology): Promise<string[]> {
  const links = await t.host.ip<{ ifname: string }[]>("link");
  return links.map((l) => l.ifname);
}

async function nftRuleset(t: Topology): Promise<string> {
  return (await t.host.run(["nft", "list", "ruleset"])).stdout;
}

/** Waits until container `name` is running (its network wired). */
async function running(t: Topology, name: string): Promise<void> {
  await waitFor(`${name} to run`, async () => {
    const r = await t.tsbox(["ps", "--no-trunc"]);
    return r.stdout.split("\n").some((l) => l.trim().endsWith(` ${name}`) && l.includes(" Up "))
      ? true
      : undefined;
  });
}

topologyTest(
  "bridge: address, MAC, default route, gateway, /etc/hosts; nothing left after --rm",
  async (t) => {
    const r = await t.tsbox([
      "run",
      "--rm",
      "--name",
      "box1",
      "busybox",
      "sh",
      "-c",
      "ip -4 -o addr show eth0; ip route; cat /sys/class/net/eth0/address; cat /etc/hosts; " +
      "ping -c1 -W2 172.17.0.1 >/dev/null && echo GATEWAY-OK",
    ], { expect: 0 });
    assert.match(r.stdout, /inet 172\.17\.0\.2\/16 /);
    assert.match(r.stdout, /^default via 172\.17\.0\.1 dev eth0/m);
    assert.match(r.stdout, /^02:42:ac:11:00:02$/m);
    assert.match(r.stdout, /^172\.17\.0\.2\t[0-9a-f]{12}$/m);
    assert.match(r.stdout, /GATEWAY-OK/);

    // The host side: tsbox0 with the gateway address and a fixed MAC, forwarding on.
    const addrs = await t.host.ip<
      { ifname: string; address: string; addr_info: { local: string }[] }[]
    >(
      "addr",
      "show",
      "tsbox0",
    );
    assert.equal(addrs[0]?.address, "02:42:ac:11:00:01");
    assert.deepEqual(addrs[0]?.addr_info.map((a) => a.local).filter((a) => a.includes(".")), [
      "172.17.0.1",
    ]);
    const fwd = await t.host.run(["cat", "/proc/sys/net/ipv4/ip_forward"]);
    assert.equal(fwd.stdout.trim(), "1");

    // --rm took the veth, the lease and any container rule with it.
    assert.deepEqual((await hostLinks(t)).filter((l) => l.startsWith("veth")), []);
    assert.deepEqual((await inspect(t)).Containers, {});
    assert.doesNotMatch(await nftRuleset(t), /comment "tsbox:/);

    // The table goes with the last network.
    await t.tsbox(["network", "rm", "bridge"], { expect: 0 });
    assert.doesNotMatch(await nftRuleset(t), /table ip tsbox/);
    assert.ok(!(await hostLinks(t)).includes("tsbox0"));
  },
);

topologyTest(
  "NAPT: connections leave with the host's address, two at once on distinct ports",
  async (t) => {
    const server = await startPeerRecorder(t.outside, 9000);
    try {
      // Both containers connect from source port 40000 (busybox nc cannot choose
      // it, so Deno's node:net does): the host can give only one of them 40000.
      const code = `import net from "node:net";
      const c = net.connect({ host: "${t.outsideIp}", port: 9000, localPort: 40000 });
      setTimeout(() => c.end(), 10000);`;
      const client = (name: string) =>
        t.spawnTsbox([
          "run",
          "--rm",
          "--name",
          name,
          ...denoInContainer(),
          "busybox",
          "deno",
          "eval",
          code,
        ]);
      const clients = [client("napt1"), client("napt2")];
      try {
        const peers = await waitFor(
          "two connections",
          () => Promise.resolve(server.peers().length >= 2 ? server.peers() : undefined),
          15_000,
        );
        const [a, b] = peers.map((p) => p.split(":"));
        assert.equal(a![0], t.hostIp, "the peer sees the host's outside address");
        assert.equal(b![0], t.hostIp);
        assert.notEqual(a![1], b![1], "translated source ports differ");
        assert.ok([a![1], b![1]].includes("40000"), JSON.stringify(peers));

        const tr = (await inspect(t)).Translations.filter((x) => x.Kind === "snat");
        const mine = tr.filter((x) => x.ContainerAddress.endsWith(":40000"));
        assert.equal(mine.length, 2, JSON.stringify(tr));
        assert.deepEqual(mine.map((x) => x.Container).sort(), ["napt1", "napt2"]);
        assert.deepEqual(
          mine.map((x) => x.HostAddress).sort(),
          peers.slice().sort(),
          "inspect shows the translated address:port the peer saw",
        );
      } finally {
        await t.tsbox(["rm", "-f", "napt1", "napt2"]);
        for (const c of clients) await c.output();
      }
    } finally {
      await server.close();
    }
  },
);

topologyTest("--network none has only lo; container:NAME shares NAME's namespace", async (t) => {
  const none = await t.tsbox([
    "run",
    "--rm",
    "--network",
    "none",
    "busybox",
    "ls",
    "/sys/class/net",
  ], {
    expect: 0,
  });
  assert.deepEqual(none.stdout.split("\n").filter(Boolean), ["lo"]);

  const holder = t.spawnTsbox(["run", "--rm", "--name", "holder", "busybox", "sleep", "60"]);
  try {
    await running(t, "holder");
    const addr = Object.values((await inspect(t)).Containers)[0]!.IPv4Address;
    const joined = await t.tsbox([
      "run",
      "--rm",
      "--network",
      "container:holder",
      "busybox",
      "ip",
      "-4",
      "-o",
      "addr",
      "show",
      "eth0",
    ], { expect: 0 });
    assert.ok(joined.stdout.includes(`inet ${addr} `), joined.stdout);
    // Joining adds no address and no veth of its own.
    assert.equal(Object.keys((await inspect(t)).Containers).length, 1);
    const bad = await t.tsbox(["run", "--rm", "--network", "container:nosuch", "busybox", "true"]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /no such container: nosuch/);
  } finally {
    await t.tsbox(["rm", "-f", "holder"]);
    await holder.output();
  }
});

topologyTest(
  "a FORWARD chain with policy drop (iptables-nft) gets tsbox's accept rules, removed with the network",
  async (t) => {
    await t.host.run(["nft", "add", "table", "ip", "filter"]);
    await t.host.run([
      "nft",
      "add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }",
    ]);
    const r = await t.tsbox([
      "run",
      "--rm",
      "busybox",
      "sh",
      "-c",
      `ping -c1 -W2 ${t.outsideIp} >/dev/null && echo REACHED`,
    ]);
    assert.match(r.stdout, /REACHED/, r.stderr);
    const chain = (await t.host.run(["nft", "list", "chain", "ip", "filter", "FORWARD"])).stdout;
    assert.equal(chain.match(/comment "tsbox-net:bridge"/g)?.length, 3, chain);
    assert.match(chain, /policy drop/);

    await t.tsbox(["network", "rm", "bridge"], { expect: 0 });
    const after = (await t.host.run(["nft", "list", "chain", "ip", "filter", "FORWARD"])).stdout;
    assert.doesNotMatch(after, /tsbox/);
    assert.match(after, /policy drop/, "the other program's chain is left as it was");
    assert.doesNotMatch(await nftRuleset(t), /table ip tsbox/);
  },
);

topologyTest(
  "rm -f after tsbox was killed removes the veth, the rules and the lease",
  async (t) => {
    const run = t.spawnTsbox([
      "run",
      "--name",
      "orphan",
      "-p",
      "8085:80",
      "busybox",
      "sleep",
      "60",
    ]);
    await running(t, "orphan");
    assert.equal((await hostLinks(t)).filter((l) => l.startsWith("veth")).length, 1);
    run.kill("SIGKILL");
    // The container still holds the CLI's stdout and stderr (as with `docker
    // run`, killing the client does not stop the container): do not wait for EOF.
    await run.status;
    await Promise.all([run.stdout.cancel(), run.stderr.cancel()]);
    await t.tsbox(["rm", "-f", "orphan"], { expect: 0 });
    assert.deepEqual((await hostLinks(t)).filter((l) => l.startsWith("veth")), []);
    assert.deepEqual((await inspect(t)).Containers, {});
    assert.doesNotMatch(await nftRuleset(t), /comment "tsbox:/);
    assert.match(await nftRuleset(t), /chain ports/);
  },
);
