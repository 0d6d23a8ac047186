// The expression lists below are what `nft --debug=netlink add rule ...`
// (nftables 1.0.6) prints for the same terms, e.g.
//   iifname != "br0"  =>  [ meta load iifname => reg 1 ]
//                         [ cmp neq reg 1 0x00307262 0x00000000 0x00000000 0x00000000 ]
import assert from "node:assert/strict";
import {
  ctState,
  ctStatus,
  ctStatusNot,
  dnat,
  fibDaddrTypeLocal,
  iifname,
  ipDaddr,
  ipSaddr,
  jump,
  masquerade,
  oifname,
  tcpDport,
  udpDport,
} from "./nft_match.ts";

const b = (...x: number[]) => Uint8Array.from(x);
const padded = (s: string) => {
  const out = new Uint8Array(16);
  out.set(new TextEncoder().encode(s));
  return out;
};

Deno.test("iifname / oifname compare the 16-byte padded name; != uses NFT_CMP_NEQ", () => {
  assert.deepEqual(iifname("br0", "!="), [
    { kind: "meta", key: 6, dreg: 1 },
    { kind: "cmp", sreg: 1, op: "!=", data: padded("br0") },
  ]);
  assert.deepEqual(oifname("tsbox0"), [
    { kind: "meta", key: 7, dreg: 1 },
    { kind: "cmp", sreg: 1, op: "==", data: padded("tsbox0") },
  ]);
});

Deno.test("iifname with a trailing * compares only the prefix", () => {
  assert.deepEqual(iifname("veth*")[1], {
    kind: "cmp",
    sreg: 1,
    op: "==",
    data: new TextEncoder().encode("veth"),
  });
  assert.throws(() => iifname("a-very-long-name0"), TypeError);
});

Deno.test("ip saddr with a prefix: payload, bitwise mask, cmp of the network", () => {
  // [ payload load 4b @ network header + 12 => reg 1 ]
  // [ bitwise reg 1 = ( reg 1 & 0x00f0ffff ) ^ 0x00000000 ]
  // [ cmp eq reg 1 0x000011ac ]
  assert.deepEqual(ipSaddr("172.17.5.9/20"), [
    { kind: "payload", base: 1, offset: 12, len: 4, dreg: 1 },
    { kind: "bitwise", sreg: 1, dreg: 1, mask: b(255, 255, 240, 0), xor: b(0, 0, 0, 0) },
    { kind: "cmp", sreg: 1, op: "==", data: b(172, 17, 0, 0) },
  ]);
});

Deno.test("ip daddr of one address compares exactly; inet tables check nfproto first", () => {
  assert.deepEqual(ipDaddr("10.0.0.1"), [
    { kind: "payload", base: 1, offset: 16, len: 4, dreg: 1 },
    { kind: "cmp", sreg: 1, op: "==", data: b(10, 0, 0, 1) },
  ]);
  assert.deepEqual(ipDaddr("10.0.0.1", "!=", "inet").slice(0, 2), [
    { kind: "meta", key: 15, dreg: 1 },
    { kind: "cmp", sreg: 1, op: "==", data: b(2) },
  ]);
});

Deno.test("tcp / udp dport check l4proto, then the big-endian port at transport + 2", () => {
  assert.deepEqual(tcpDport(8080), [
    { kind: "meta", key: 16, dreg: 1 },
    { kind: "cmp", sreg: 1, op: "==", data: b(6) },
    { kind: "payload", base: 2, offset: 2, len: 2, dreg: 1 },
    { kind: "cmp", sreg: 1, op: "==", data: b(0x1f, 0x90) },
  ]);
  assert.deepEqual(udpDport(53)[1], { kind: "cmp", sreg: 1, op: "==", data: b(17) });
  assert.throws(() => tcpDport(0), RangeError);
  assert.throws(() => tcpDport(65536), RangeError);
});

Deno.test("ct state established,related: host-order mask, cmp neq 0", () => {
  assert.deepEqual(ctState("established", "related"), [
    { kind: "ct", key: 0, dreg: 1 },
    { kind: "bitwise", sreg: 1, dreg: 1, mask: b(6, 0, 0, 0), xor: b(0, 0, 0, 0) },
    { kind: "cmp", sreg: 1, op: "!=", data: b(0, 0, 0, 0) },
  ]);
});

Deno.test("ct status dnat: ct load status, bitwise with IPS_DST_NAT (0x20), cmp neq 0", () => {
  // [ ct load status => reg 1 ]
  // [ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]
  // [ cmp neq reg 1 0x00000000 ]
  assert.deepEqual(ctStatus("dnat"), [
    { kind: "ct", key: 2, dreg: 1 },
    { kind: "bitwise", sreg: 1, dreg: 1, mask: b(0x20, 0, 0, 0), xor: b(0, 0, 0, 0) },
    { kind: "cmp", sreg: 1, op: "!=", data: b(0, 0, 0, 0) },
  ]);
});

Deno.test("ct status ! dnat: the same bitwise, cmp eq 0 (not nft's `!= dnat`)", () => {
  // nft add rule ... ct status & dnat == 0  (listed back as `ct status ! dnat`)
  // [ ct load status => reg 1 ]
  // [ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]
  // [ cmp eq reg 1 0x00000000 ]
  assert.deepEqual(ctStatusNot("dnat"), [
    { kind: "ct", key: 2, dreg: 1 },
    { kind: "bitwise", sreg: 1, dreg: 1, mask: b(0x20, 0, 0, 0), xor: b(0, 0, 0, 0) },
    { kind: "cmp", sreg: 1, op: "==", data: b(0, 0, 0, 0) },
  ]);
});

Deno.test("fib daddr type local compares the address type with RTN_LOCAL", () => {
  assert.deepEqual(fibDaddrTypeLocal(), [
    { kind: "fib", flags: 2, result: 3, dreg: 1 },
    { kind: "cmp", sreg: 1, op: "==", data: b(2, 0, 0, 0) },
  ]);
});

Deno.test("dnat to ip:port loads address and port into registers 1 and 2", () => {
  // [ immediate reg 1 0x020011ac ] [ immediate reg 2 0x00005000 ]
  // [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]
  assert.deepEqual(dnat("172.17.0.2", 80), [
    { kind: "immediate", dreg: 1, data: b(172, 17, 0, 2) },
    { kind: "immediate", dreg: 2, data: b(0, 80) },
    { kind: "nat", type: "dnat", family: 2, addrReg: 1, protoReg: 2, flags: 2 },
  ]);
  assert.deepEqual(dnat("172.17.0.3").at(-1), {
    kind: "nat",
    type: "dnat",
    family: 2,
    addrReg: 1,
    flags: 0,
  });
});

Deno.test("masquerade and jump are single expressions", () => {
  assert.deepEqual(masquerade(), [{ kind: "masq" }]);
  assert.deepEqual(jump("DOCKER"), [{ kind: "verdict", verdict: "jump", chain: "DOCKER" }]);
});
