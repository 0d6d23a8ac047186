// The rules tsbox asks nftables for, as data: what each rule matches, in
// nft's words (see the layout in nat.ts), and the comment that lets removal
// find it. The expression lists themselves are tested byte for byte in
// netlink/nft_match_test.ts and netlink/nftables_test.ts.
import assert from "node:assert/strict";
import type { Expr } from "./netlink/nft_expr.ts";
import * as m from "./netlink/nft_match.ts";
import {
  baseBatch,
  BRIDGE_PREFIX,
  foreignForwardRules,
  loopbackGuardRule,
  networkComment,
  networkRules,
  PORTS_CHAIN,
  TABLE,
} from "./nat.ts";
import { containerComment, portRules } from "./portmap.ts";

const net = { name: "front", subnet: "172.18.0.0/16", bridge: "tsbox-1a2b3c4d" };

Deno.test("baseBatch: table (exclusive), 6 chains, jumps to ports from prerouting and output", () => {
  const reqs = baseBatch().requests.map((r) => r.describe);
  assert.equal(reqs[0], `NFT_MSG_NEWTABLE ip "tsbox"`);
  const chains = reqs.filter((d) => d.startsWith("NFT_MSG_NEWCHAIN")).map((d) =>
    d.split(" ").at(-1)
  );
  assert.deepEqual(chains, [
    `"ports"`,
    `"prerouting"`,
    `"output"`,
    `"postrouting"`,
    `"forward"`,
    `"input"`,
  ]);
  const rules = reqs.filter((d) => d.startsWith("NFT_MSG_NEWRULE"));
  assert.equal(rules.length, 5);
  assert.ok(rules.every((d) => d.endsWith(`comment "tsbox"`)));
  assert.ok(baseBatch().requests[0]!.flags! & 0x200, "NLM_F_EXCL: an existing table is left alone");
});

Deno.test("baseBatch: the input chain drops what a bridge sends to 127/8 unless DNATed", () => {
  const reqs = baseBatch().requests.map((r) => r.describe);
  assert.match(reqs.at(-1)!, /^NFT_MSG_NEWRULE ip "tsbox" "input"/);
  assert.ok(reqs.some((d) => /^NFT_MSG_NEWCHAIN .*"input"$/.test(d)));
  const guard = loopbackGuardRule();
  assert.deepEqual([guard.chain, guard.comment], ["input", "tsbox"]);
  assert.deepEqual(guard.exprs, [
    ...m.iifname("tsbox*"),
    ...m.ipDaddr("127.0.0.0/8"),
    ...m.ctStatusNot("dnat"),
    ...m.drop(),
  ]);
});

Deno.test("networkRules: masquerade out, hairpin and loopback masquerade, isolation drop", () => {
  const rules = networkRules(net);
  assert.ok(rules.every((r) => r.comment === "tsbox-net:front" && r.table === TABLE.name));
  const [out, hairpin, loopback, isolate] = rules;
  assert.equal(out!.chain, "postrouting");
  assert.deepEqual(out!.exprs, [
    ...m.ipSaddr("172.18.0.0/16"),
    ...m.oifname("tsbox-1a2b3c4d", "!="),
    ...m.masquerade(),
  ]);
  assert.deepEqual(hairpin!.exprs, [
    ...m.ipSaddr("172.18.0.0/16"),
    ...m.oifname("tsbox-1a2b3c4d"),
    ...m.ctStatus("dnat"),
    ...m.masquerade(),
  ]);
  assert.deepEqual(loopback!.exprs, [
    ...m.ipSaddr("127.0.0.0/8"),
    ...m.oifname("tsbox-1a2b3c4d"),
    ...m.masquerade(),
  ]);
  assert.equal(isolate!.chain, "forward");
  assert.deepEqual(isolate!.exprs, [
    ...m.iifname("tsbox-1a2b3c4d"),
    ...m.oifname(`${BRIDGE_PREFIX}*`),
    ...m.oifname("tsbox-1a2b3c4d", "!="),
    ...m.drop(),
  ]);
  assert.equal(networkComment("front"), "tsbox-net:front");
});

Deno.test("foreignForwardRules: inserted first in the other program's chain, with the network's comment", () => {
  const rules = foreignForwardRules(net, { family: "ip", table: "filter", name: "FORWARD" });
  assert.equal(rules.length, 3);
  for (const r of rules) {
    assert.deepEqual([r.family, r.table, r.chain, r.insert, r.comment], [
      "ip",
      "filter",
      "FORWARD",
      true,
      "tsbox-net:front",
    ]);
    assert.deepEqual(r.exprs.at(-1), { kind: "verdict", verdict: "accept" } satisfies Expr);
  }
});

Deno.test("portRules: dnat per binding; an address binding matches ip daddr first", () => {
  const id = "c0ffee";
  const rules = portRules(id, "172.17.0.2", [
    { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, proto: "tcp" },
    { hostIp: "127.0.0.1", hostPort: 5353, containerPort: 53, proto: "udp" },
  ]);
  assert.ok(rules.every((r) => r.chain === PORTS_CHAIN && r.comment === containerComment(id)));
  assert.equal(containerComment(id), "tsbox:c0ffee");
  assert.deepEqual(rules[0]!.exprs, [...m.tcpDport(8080), ...m.dnat("172.17.0.2", 80)]);
  assert.deepEqual(rules[1]!.exprs, [
    ...m.ipDaddr("127.0.0.1"),
    ...m.udpDport(5353),
    ...m.dnat("172.17.0.2", 53),
  ]);
});
