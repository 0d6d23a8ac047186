import assert from "node:assert/strict";
import { decodeConntrack, encodeTuple, natKinds } from "./conntrack.ts";
import { concat, nla, nlaNested, nlaU32be, nlaU8 } from "./message.ts";

const b = (...x: number[]) => Uint8Array.from(x);
const be16 = (n: number) => b(n >> 8, n & 0xff);

/** CTA_TUPLE_* { CTA_TUPLE_IP { V4_SRC, V4_DST }, CTA_TUPLE_PROTO { NUM, SRC_PORT, DST_PORT } } */
function tuple(
  type: number,
  src: number[],
  dst: number[],
  proto: number,
  sport: number,
  dport: number,
) {
  return nlaNested(type, [
    nlaNested(1, [nla(1, b(...src)), nla(2, b(...dst))]),
    nlaNested(2, [nlaU8(1, proto), nla(2, be16(sport)), nla(3, be16(dport))]),
  ]);
}

Deno.test("decodeConntrack reads a DNAT'd TCP connection", () => {
  // 10.99.0.2:40000 -> 10.99.0.1:8080, translated to 10.88.0.2:80
  const payload = Uint8Array.from([
    2,
    0,
    0,
    0, // nfgenmsg: AF_INET
    ...tuple(1, [10, 99, 0, 2], [10, 99, 0, 1], 6, 40000, 8080), // CTA_TUPLE_ORIG
    ...tuple(2, [10, 88, 0, 2], [10, 99, 0, 2], 6, 80, 40000), // CTA_TUPLE_REPLY
    ...nlaU32be(3, 0x1ae), // CTA_STATUS: SEEN_REPLY|ASSURED|CONFIRMED|DST_NAT|SRC_NAT_DONE|DST_NAT_DONE
    ...nlaU32be(7, 119), // CTA_TIMEOUT
    ...nlaU32be(8, 0), // CTA_MARK
    ...nlaU32be(12, 0xdeadbeef), // CTA_ID
    ...nlaNested(4, [nlaNested(1, [nlaU8(1, 7)])]), // CTA_PROTOINFO { TCP { STATE TIME_WAIT } }
  ]);
  const e = decodeConntrack(payload);
  assert.deepEqual(e, {
    proto: "tcp",
    orig: { src: "10.99.0.2", dst: "10.99.0.1", sport: 40000, dport: 8080 },
    reply: { src: "10.88.0.2", dst: "10.99.0.2", sport: 80, dport: 40000 },
    status: ["SEEN_REPLY", "ASSURED", "CONFIRMED", "DST_NAT", "SRC_NAT_DONE", "DST_NAT_DONE"],
    timeout: 119,
    mark: 0,
    id: 0xdeadbeef,
    tcpState: "TIME_WAIT",
  });
  assert.deepEqual(natKinds(e), ["dnat"]);
});

Deno.test("decodeConntrack reads ICMP ids and types, and IPv6 addresses", () => {
  const v6 = (last: number) => [0xfd, 0, ...new Array<number>(13).fill(0), last];
  const icmp = nlaNested(1, [
    nlaNested(1, [nla(3, b(...v6(2))), nla(4, b(...v6(1)))]),
    nlaNested(2, [nlaU8(1, 58), nla(4, be16(77)), nlaU8(5, 128), nlaU8(6, 0)]),
  ]);
  const e = decodeConntrack(Uint8Array.from([10, 0, 0, 0, ...icmp, ...nlaU32be(3, 0x10)]));
  assert.equal(e.proto, "icmpv6");
  assert.deepEqual(e.orig, {
    src: "fd00::2",
    dst: "fd00::1",
    icmpId: 77,
    icmpType: 128,
    icmpCode: 0,
  });
  assert.deepEqual(e.reply, { src: "", dst: "" });
  assert.deepEqual(natKinds(e), ["snat"]);
});

Deno.test("encodeTuple: what CT_DELETE sends decodes back to the same tuples", () => {
  const orig = { src: "10.99.0.2", dst: "10.99.0.1", sport: 40000, dport: 5353 };
  const reply = { src: "10.88.0.2", dst: "10.99.0.2", sport: 53, dport: 40000 };
  const payload = concat([
    b(2, 0, 0, 0),
    encodeTuple(1, "udp", orig),
    encodeTuple(2, "udp", reply),
  ]);
  const e = decodeConntrack(payload);
  assert.equal(e.proto, "udp");
  assert.deepEqual(e.orig, orig);
  assert.deepEqual(e.reply, reply);
  const icmp = { src: "10.88.0.2", dst: "1.1.1.1", icmpId: 7, icmpType: 8, icmpCode: 0 };
  assert.deepEqual(
    decodeConntrack(concat([b(2, 0, 0, 0), encodeTuple(1, "icmp", icmp)])).orig,
    icmp,
  );
});
