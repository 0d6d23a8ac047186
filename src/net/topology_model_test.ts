import assert from "node:assert/strict";
import { networkRules } from "./nat.ts";
import type { NftRule } from "./netlink/nftables.ts";
import type { Link } from "./netlink/route.ts";
import { portRules } from "./portmap.ts";
import {
  assembleTopology,
  decodePortRule,
  filterTopology,
  subnetOfCidr,
  type TopologyInput,
} from "./topology_model.ts";

let handle = 1;
const asRules = (specs: ReturnType<typeof portRules>): NftRule[] =>
  specs.map((r) => ({
    family: "ip",
    table: r.table,
    chain: r.chain,
    handle: handle++,
    ...(r.comment !== undefined ? { comment: r.comment } : {}),
    exprs: [...r.exprs],
  }));

const link = (index: number, name: string, more: Partial<Link> = {}): Link => ({
  index,
  name,
  flags: 1,
  up: true,
  type: 1,
  ...more,
});

/** Two networks, three containers, one published port, one NAPT and one DNAT entry. */
export function fixture(): TopologyInput {
  const host = { inode: 4026531840, path: "/proc/self/ns/net" };
  const ns = (n: number, pid: number) => ({ inode: n, path: `/proc/${pid}/ns/net` });
  const ctr = (id: string, name: string, pid: number, inode: number, peer: number, ip: string) => ({
    id,
    name,
    pid,
    netns: ns(inode, pid),
    links: [link(1, "lo", { type: 772 }), link(2, "eth0", { kind: "veth", parent: peer })],
    addresses: [{ index: 2, address: ip, prefixLen: 16, cidr: `${ip}/16`, scope: 0 }],
  });
  return {
    netns: host,
    links: [
      link(1, "lo", { type: 772 }),
      link(2, "ext0", { kind: "veth", parent: 2 }), // a veth to the outside, no bridge
      link(10, "tsbox0", { kind: "bridge", mac: "02:42:ac:11:00:01" }),
      link(11, "tsbox-1a2b3c4d", { kind: "bridge" }),
      link(20, "veth1111111", { kind: "veth", master: 10, parent: 2 }),
      link(21, "veth2222222", { kind: "veth", master: 10, parent: 2 }),
      link(22, "veth3333333", { kind: "veth", master: 11, parent: 2 }),
    ],
    addresses: [
      { index: 1, address: "127.0.0.1", prefixLen: 8, cidr: "127.0.0.1/8", scope: 254 },
      { index: 2, address: "10.99.0.1", prefixLen: 24, cidr: "10.99.0.1/24", scope: 0 },
      { index: 10, address: "172.17.0.1", prefixLen: 16, cidr: "172.17.0.1/16", scope: 0 },
      { index: 11, address: "172.18.0.1", prefixLen: 16, cidr: "172.18.0.1/16", scope: 0 },
    ],
    containers: [
      ctr("a".repeat(64), "web", 101, 5001, 20, "172.17.0.2"),
      ctr("b".repeat(64), "client", 102, 5002, 21, "172.17.0.3"),
      ctr("c".repeat(64), "db", 103, 5003, 22, "172.18.0.2"),
    ],
    rules: [
      ...asRules(portRules("a".repeat(64), "172.17.0.2", [
        { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, proto: "tcp" },
        { hostIp: "127.0.0.1", hostPort: 5353, containerPort: 53, proto: "udp" },
      ])),
      ...asRules(networkRules({ name: "bridge", subnet: "172.17.0.0/16", bridge: "tsbox0" })),
      ...asRules(networkRules({ name: "back", subnet: "172.18.0.0/16", bridge: "tsbox-1a2b3c4d" })),
    ],
    conntrack: [
      {
        proto: "tcp",
        orig: { src: "172.17.0.3", dst: "10.99.0.2", sport: 40000, dport: 9000 },
        reply: { src: "10.99.0.2", dst: "10.99.0.1", sport: 9000, dport: 40001 },
        status: ["SRC_NAT", "CONFIRMED"],
        tcpState: "ESTABLISHED",
      },
      {
        proto: "tcp",
        orig: { src: "10.99.0.2", dst: "10.99.0.1", sport: 51000, dport: 8080 },
        reply: { src: "172.17.0.2", dst: "10.99.0.2", sport: 80, dport: 51000 },
        status: ["DST_NAT", "CONFIRMED"],
        tcpState: "ESTABLISHED",
      },
      {
        proto: "udp",
        orig: { src: "10.99.0.1", dst: "10.99.0.2", sport: 1, dport: 2 },
        reply: { src: "10.99.0.2", dst: "10.99.0.1", sport: 2, dport: 1 },
        status: ["CONFIRMED"],
      },
    ],
    networks: [
      { name: "bridge", bridge: "tsbox0", subnet: "172.17.0.0/16", gateway: "172.17.0.1" },
      { name: "back", bridge: "tsbox-1a2b3c4d", subnet: "172.18.0.0/16", gateway: "172.18.0.1" },
    ],
  };
}

Deno.test("decodePortRule: reads back what portRules encodes", () => {
  const [any, local] = asRules(portRules("x", "172.17.0.2", [
    { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, proto: "tcp" },
    { hostIp: "127.0.0.1", hostPort: 5353, containerPort: 53, proto: "udp" },
  ]));
  const a = decodePortRule(any!)!;
  assert.deepEqual([a.proto, a.hostIp, a.hostPort, a.containerIp, a.containerPort], [
    "tcp",
    "0.0.0.0",
    8080,
    "172.17.0.2",
    80,
  ]);
  const l = decodePortRule(local!)!;
  assert.deepEqual([l.proto, l.hostIp, l.hostPort, l.containerPort], [
    "udp",
    "127.0.0.1",
    5353,
    53,
  ]);
  const [masq] = asRules(networkRules({ name: "n", subnet: "10.0.0.0/24", bridge: "b" }));
  assert.equal(decodePortRule(masq!), undefined);
});

Deno.test("subnetOfCidr: clears host bits", () => {
  assert.equal(subnetOfCidr("172.17.0.1/16"), "172.17.0.0/16");
  assert.equal(subnetOfCidr("nonsense"), undefined);
});

Deno.test("assembleTopology: veth pairs matched by the peers' ifindexes, in both namespaces", () => {
  const t = assembleTopology(fixture());
  assert.deepEqual(t.interfaces.map((l) => l.name), ["lo", "ext0"]);
  assert.deepEqual(t.bridges.map((b) => [b.name, b.network, b.subnet, b.ports]), [
    ["tsbox0", "bridge", "172.17.0.0/16", ["veth1111111", "veth2222222"]],
    ["tsbox-1a2b3c4d", "back", "172.18.0.0/16", ["veth3333333"]],
  ]);
  // Each container's eth0 has ifindex 2 and peer 20/21/22: only the host veth that names
  // it back (its own parent is 2) is its pair; ext0 (parent 2, no bridge) is not.
  assert.deepEqual(
    t.veths.map((v) => [v.host.name, v.host.bridge, v.peer?.container, v.peer?.netns.inode]),
    [
      ["veth1111111", "tsbox0", "web", 5001],
      ["veth2222222", "tsbox0", "client", 5002],
      ["veth3333333", "tsbox-1a2b3c4d", "db", 5003],
    ],
  );
  assert.equal(t.veths[0]!.host.netns.inode, 4026531840);
  assert.deepEqual(t.containers.map((c) => [c.name, c.eth0?.addresses, c.bridge]), [
    ["web", ["172.17.0.2/16"], "tsbox0"],
    ["client", ["172.17.0.3/16"], "tsbox0"],
    ["db", ["172.18.0.2/16"], "tsbox-1a2b3c4d"],
  ]);
  assert.deepEqual(t.ports.map((p) => [p.hostIp, p.hostPort, p.container]), [
    ["0.0.0.0", 8080, "web"],
    ["127.0.0.1", 5353, "web"],
  ]);
  assert.deepEqual(
    t.translations.map((x) => [x.kind, x.container, x.host, x.peer, x.containerName]),
    [
      ["snat", "172.17.0.3:40000", "10.99.0.1:40001", "10.99.0.2:9000", "client"],
      ["dnat", "172.17.0.2:80", "10.99.0.1:8080", "10.99.0.2:51000", "web"],
    ],
  );
  assert.deepEqual(t.isolated, [["tsbox0", "tsbox-1a2b3c4d"]]);
  assert.equal(t.bridges[0]!.masquerade?.comment, "tsbox-net:bridge");
});

Deno.test("filterTopology: one network's bridge, veths, containers, ports and isolation", () => {
  const t = filterTopology(assembleTopology(fixture()), "tsbox-1a2b3c4d");
  assert.deepEqual(t.bridges.map((b) => b.name), ["tsbox-1a2b3c4d"]);
  assert.deepEqual(t.containers.map((c) => c.name), ["db"]);
  assert.deepEqual(t.ports, []);
  assert.deepEqual(t.translations, []);
  assert.deepEqual(t.isolated, [["tsbox0", "tsbox-1a2b3c4d"]]);
});
