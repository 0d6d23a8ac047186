// The NEWRULE payloads below were captured from `nft add rule ...` (nftables
// 1.0.6) with `strace -e trace=sendmsg -e write=all`: nfgenmsg + attributes,
// i.e. the message without its 16-byte header (nft's flags lack NLM_F_ACK and
// its sequence numbers differ; both are checked separately).
import assert from "node:assert/strict";
import { decodeMessages, encodeMessage, NLM_F } from "./message.ts";
import {
  accept,
  counter,
  ctState,
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
import { decodeComment, encodeComment, NftBatch, nftType } from "./nftables.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

// nft add rule ip tsbox post ip saddr 172.17.0.0/20 oifname != "br0" masquerade comment "c1"
const CAP_MASQ = "020000000a0001007473626f7800000009000200706f73740000000018010480" +
  "340001800c0001007061796c6f61640024000280080001000000000108000200" +
  "00000001080003000000000c0800040000000004440001800c00010062697477" +
  "6973650034000280080001000000000108000200000000010800030000000004" +
  "0c00048008000100fffff0000c00058008000100000000002c00018008000100" +
  "636d700020000280080001000000000108000200000000000c00038008000100" +
  "ac11000024000180090001006d65746100000000140002800800020000000007" +
  "08000100000000013800018008000100636d70002c0002800800010000000001" +
  "0800020000000001180003801400010062723000000000000000000000000000" +
  "14000180090001006d6173710000000004000280090007000003633100000000";

// nft add rule ip tsbox pre iifname != "br0" tcp dport 8080 dnat to 172.17.0.2:80
const CAP_DNAT = "020000000a0001007473626f780000000800020070726500a001048024000180" +
  "090001006d657461000000001400028008000200000000060800010000000001" +
  "3800018008000100636d70002c00028008000100000000010800020000000001" +
  "1800038014000100627230000000000000000000000000002400018009000100" +
  "6d6574610000000014000280080002000000001008000100000000012c000180" +
  "08000100636d700020000280080001000000000108000200000000000c000380" +
  "0500010006000000340001800c0001007061796c6f6164002400028008000100" +
  "000000010800020000000002080003000000000208000400000000022c000180" +
  "08000100636d700020000280080001000000000108000200000000000c000380" +
  "060001001f9000002c0001800e000100696d6d65646961746500000018000280" +
  "08000100000000010c00028008000100ac1100022c0001800e000100696d6d65" +
  "64696174650000001800028008000100000000020c0002800600010000500000" +
  "38000180080001006e6174002c00028008000100000000010800020000000002" +
  "080003000000000108000500000000020800070000000002";

// nft add rule ip tsbox pre fib daddr type local ct state established,related counter jump D
const CAP_FIB = "020000000a0001007473626f7800000008000200707265003401048028000180" +
  "08000100666962001c0002800800030000000002080002000000000308000100" +
  "000000012c00018008000100636d700020000280080001000000000108000200" +
  "000000000c000380080001000200000020000180070001006374000014000280" +
  "08000200000000000800010000000001440001800c0001006269747769736500" +
  "340002800800010000000001080002000000000108000300000000040c000480" +
  "08000100060000000c00058008000100000000002c00018008000100636d7000" +
  "20000280080001000000000108000200000000010c0003800800010000000000" +
  "140001800c000100636f756e7465720004000280380001800e000100696d6d65" +
  "6469617465000000240002800800010000000000180002801400028008000100" +
  "fffffffd0600020044000000";

// nft add rule ip tsbox D udp dport 53 ip daddr 10.0.0.1 accept
const CAP_UDP = "020000000a0001007473626f7800000006000200440000004401048024000180" +
  "090001006d657461000000001400028008000200000000100800010000000001" +
  "2c00018008000100636d70002000028008000100000000010800020000000000" +
  "0c0003800500010011000000340001800c0001007061796c6f61640024000280" +
  "0800010000000001080002000000000208000300000000020800040000000002" +
  "2c00018008000100636d70002000028008000100000000010800020000000000" +
  "0c0003800600010000350000340001800c0001007061796c6f61640024000280" +
  "0800010000000001080002000000000108000300000000100800040000000004" +
  "2c00018008000100636d70002000028008000100000000010800020000000000" +
  "0c000380080001000a000001300001800e000100696d6d656469617465000000" +
  "1c0002800800010000000000100002800c0002800800010000000001";

const T = { family: "ip" as const, table: "tsbox" };

function onlyRule(batch: NftBatch) {
  assert.equal(batch.requests.length, 1);
  return batch.requests[0]!;
}

Deno.test("addRule: masquerade rule with a comment equals nft's bytes", () => {
  const r = onlyRule(new NftBatch().addRule({
    ...T,
    chain: "post",
    exprs: [...ipSaddr("172.17.0.0/20"), ...oifname("br0", "!="), ...masquerade()],
    comment: "c1",
  }));
  assert.deepEqual(r.payload, hex(CAP_MASQ));
  assert.equal(r.type, 0x0a06); // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE
  assert.equal(r.flags, NLM_F.CREATE | NLM_F.APPEND | NLM_F.ACK);
});

Deno.test("addRule: port-forward dnat rule equals nft's bytes", () => {
  const r = onlyRule(new NftBatch().addRule({
    ...T,
    chain: "pre",
    exprs: [...iifname("br0", "!="), ...tcpDport(8080), ...dnat("172.17.0.2", 80)],
  }));
  assert.deepEqual(r.payload, hex(CAP_DNAT));
});

Deno.test("addRule: fib, ct state, counter and jump equal nft's bytes", () => {
  const r = onlyRule(new NftBatch().addRule({
    ...T,
    chain: "pre",
    exprs: [
      ...fibDaddrTypeLocal(),
      ...ctState("established", "related"),
      ...counter(),
      ...jump("D"),
    ],
  }));
  assert.deepEqual(r.payload, hex(CAP_FIB));
});

Deno.test("addRule: udp dport, ip daddr and accept equal nft's bytes", () => {
  const r = onlyRule(new NftBatch().addRule({
    ...T,
    chain: "D",
    exprs: [...udpDport(53), ...ipDaddr("10.0.0.1"), ...accept()],
  }));
  assert.deepEqual(r.payload, hex(CAP_UDP));
});

Deno.test("insert puts the rule first: no NLM_F_APPEND", () => {
  const r = onlyRule(new NftBatch().addRule({ ...T, chain: "D", exprs: accept(), insert: true }));
  assert.equal(r.flags, NLM_F.CREATE | NLM_F.ACK);
});

Deno.test("framed batch: BEGIN and END carry res_id NFNL_SUBSYS_NFTABLES big-endian", () => {
  const reqs = new NftBatch().addTable("inet", "tsbox").framed();
  assert.equal(reqs.length, 3);
  const bytes = encodeMessage(
    { type: reqs[0]!.type, flags: NLM_F.REQUEST, seq: 0, pid: 0 },
    reqs[0]!.payload,
  );
  // as nft sends it: 14 00 00 00 10 00 01 00 | seq 0 | pid 0 | 00 00 00 0a
  assert.deepEqual(bytes, hex("14000000" + "10000100" + "00000000" + "00000000" + "0000000a"));
  assert.equal(reqs[2]!.type, 0x11);
  assert.deepEqual(reqs[2]!.payload, Uint8Array.of(0, 0, 0, 10));
});

Deno.test("addTable: nfgenmsg of the family, NFTA_TABLE_NAME, CREATE without EXCL", () => {
  const r = onlyRule(new NftBatch().addTable("inet", "tsbox"));
  assert.equal(r.type, nftType(0));
  assert.equal(r.flags, NLM_F.CREATE | NLM_F.ACK);
  assert.deepEqual(r.payload, hex("01000000" + "0a0001007473626f78000000"));
  const x = onlyRule(new NftBatch().addTable("ip", "t", { exclusive: true }));
  assert.equal(x.flags, NLM_F.CREATE | NLM_F.EXCL | NLM_F.ACK);
});

Deno.test("addChain: a nat base chain has hook, priority, policy and type", () => {
  const r = onlyRule(new NftBatch().addChain({
    ...T,
    name: "pre",
    base: { type: "nat", hook: "prerouting", priority: "dstnat" },
  }));
  assert.deepEqual(
    r.payload,
    hex(
      "02000000" +
        "0a0001007473626f78000000" + // NFTA_CHAIN_TABLE "tsbox"
        "0800030070726500" + // NFTA_CHAIN_NAME "pre"
        "14000480" + "0800010000000000" + "08000200ffffff9c" + // HOOK { NF_INET_PRE_ROUTING, -100 }
        "0800050000000001" + // NFTA_CHAIN_POLICY NF_ACCEPT
        "080007006e617400", // NFTA_CHAIN_TYPE "nat"
    ),
  );
});

Deno.test("deleteRule names table, chain and the 64-bit handle", () => {
  const r = onlyRule(new NftBatch().deleteRule("ip", "tsbox", "D", 7));
  assert.equal(r.type, nftType(8));
  assert.deepEqual(
    r.payload,
    hex("02000000" + "0a0001007473626f78000000" + "0600020044000000" + "0c0003000000000000000007"),
  );
  assert.match(r.describe, /NFT_MSG_DELRULE ip "tsbox" "D" handle 7/);
});

Deno.test("deleteTable with ifExists uses NFT_MSG_DESTROYTABLE", () => {
  assert.equal(onlyRule(new NftBatch().deleteTable("ip", "tsbox")).type, nftType(2));
  assert.equal(
    onlyRule(new NftBatch().deleteTable("ip", "tsbox", { ifExists: true })).type,
    nftType(26),
  );
});

Deno.test("comment user data is nft's TLV: type 0, length with NUL, text, NUL", () => {
  assert.deepEqual(encodeComment("c1"), Uint8Array.of(0, 3, 0x63, 0x31, 0));
  assert.equal(decodeComment(Uint8Array.of(0, 3, 0x63, 0x31, 0)), "c1");
  // another TLV first (type 5), then the comment
  assert.equal(decodeComment(Uint8Array.of(5, 1, 9, 0, 2, 0x78, 0)), "x");
  assert.equal(decodeComment(Uint8Array.of(0, 9, 0x63)), undefined);
  assert.throws(() => encodeComment("x".repeat(128)), TypeError);
});

Deno.test("an empty batch frames to just BEGIN and END and encodes as one datagram", () => {
  const reqs = new NftBatch().framed();
  const datagram = reqs.map((r, i) =>
    encodeMessage({ type: r.type, flags: 1, seq: i, pid: 0 }, r.payload)
  );
  const msgs = decodeMessages(Uint8Array.from(datagram.flatMap((d) => [...d])));
  assert.deepEqual(msgs.map((m) => m.type), [0x10, 0x11]);
});
