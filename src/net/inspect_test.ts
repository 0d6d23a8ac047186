import assert from "node:assert/strict";
import { parseSubnet } from "./addr.ts";
import { translationsOf } from "./inspect.ts";
import type { ConntrackEntry } from "./netlink/conntrack.ts";

const subnet = parseSubnet("172.17.0.0/16");
const names = new Map([["172.17.0.2", "web"]]);

Deno.test("translationsOf: a masqueraded connection reads container -> host -> peer", () => {
  const e: ConntrackEntry = {
    proto: "tcp",
    orig: { src: "172.17.0.2", dst: "10.99.0.2", sport: 40000, dport: 9000 },
    reply: { src: "10.99.0.2", dst: "10.99.0.1", sport: 9000, dport: 40001 },
    status: ["SEEN_REPLY", "CONFIRMED", "SRC_NAT", "SRC_NAT_DONE"],
    tcpState: "ESTABLISHED",
  };
  assert.deepEqual(translationsOf([e], subnet, names), [{
    Kind: "snat",
    Protocol: "tcp",
    Container: "web",
    ContainerAddress: "172.17.0.2:40000",
    HostAddress: "10.99.0.1:40001",
    Peer: "10.99.0.2:9000",
    State: "ESTABLISHED",
    Text: "172.17.0.2:40000 -> 10.99.0.1:40001 -> 10.99.0.2:9000",
  }]);
});

Deno.test("translationsOf: a published port reads container -> host -> peer too", () => {
  const e: ConntrackEntry = {
    proto: "udp",
    orig: { src: "10.99.0.2", dst: "10.99.0.1", sport: 51000, dport: 5353 },
    reply: { src: "172.17.0.2", dst: "10.99.0.2", sport: 53, dport: 51000 },
    status: ["CONFIRMED", "DST_NAT", "DST_NAT_DONE"],
  };
  const [t] = translationsOf([e], subnet, names);
  assert.equal(t?.Kind, "dnat");
  assert.equal(t?.Text, "172.17.0.2:53 -> 10.99.0.1:5353 -> 10.99.0.2:51000");
});

Deno.test("translationsOf: untranslated, other networks' and gone containers' entries are left out", () => {
  const plain: ConntrackEntry = {
    proto: "tcp",
    orig: { src: "10.99.0.2", dst: "10.99.0.1", sport: 1, dport: 22 },
    reply: { src: "10.99.0.1", dst: "10.99.0.2", sport: 22, dport: 1 },
    status: ["CONFIRMED"],
  };
  const other: ConntrackEntry = {
    proto: "icmp",
    orig: { src: "172.18.0.2", dst: "10.99.0.2" },
    reply: { src: "10.99.0.2", dst: "10.99.0.1" },
    status: ["SRC_NAT"],
  };
  const gone: ConntrackEntry = {
    proto: "tcp",
    orig: { src: "172.17.0.9", dst: "10.99.0.2", sport: 1, dport: 2 },
    reply: { src: "10.99.0.2", dst: "10.99.0.1", sport: 2, dport: 1 },
    status: ["SRC_NAT"],
  };
  assert.deepEqual(translationsOf([plain, other, gone], subnet, names), []);
});
