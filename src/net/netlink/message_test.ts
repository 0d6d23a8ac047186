import assert from "node:assert/strict";
import {
  align4,
  attrMap,
  decodeAttrs,
  decodeDone,
  decodeError,
  decodeMessages,
  encodeMessage,
  nla,
  nlaNested,
  nlaString,
  nlaU16,
  nlaU32,
  nlaU32be,
  nlaU64be,
  nlaU8,
  NLM_F,
  readString,
  readU16be,
  readU32,
  readU32be,
  readU64be,
} from "./message.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

Deno.test("align4 rounds up to 4 bytes", () => {
  assert.deepEqual([0, 1, 3, 4, 5, 8, 9].map(align4), [0, 4, 4, 4, 8, 8, 12]);
});

Deno.test("nla encodes length without padding, then pads to 4", () => {
  // nla_len = 4 + 1, nla_type = 7, value, 3 bytes padding
  assert.deepEqual(nlaU8(7, 0xab), bytes(5, 0, 7, 0, 0xab, 0, 0, 0));
  assert.deepEqual(nlaU16(2, 0x0102), bytes(6, 0, 2, 0, 0x02, 0x01, 0, 0));
  assert.deepEqual(nla(1, new Uint8Array(0)), bytes(4, 0, 1, 0));
});

Deno.test("nlaU32 is host (little-endian) order, nlaU32be network order", () => {
  assert.deepEqual(nlaU32(3, 0x01020304), bytes(8, 0, 3, 0, 4, 3, 2, 1));
  assert.deepEqual(nlaU32be(3, 0x01020304), bytes(8, 0, 3, 0, 1, 2, 3, 4));
  // negative verdict codes are two's complement: NFT_JUMP = -3
  assert.deepEqual(nlaU32be(1, -3), bytes(8, 0, 1, 0, 0xff, 0xff, 0xff, 0xfd));
  assert.deepEqual(
    nlaU64be(3, 0x0102030405060708n),
    bytes(12, 0, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8),
  );
});

Deno.test("nlaString adds a NUL and pads", () => {
  assert.deepEqual(nlaString(3, "br0"), bytes(8, 0, 3, 0, 0x62, 0x72, 0x30, 0));
  assert.deepEqual(
    nlaString(3, "eth0"),
    bytes(9, 0, 3, 0, 0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0),
  );
  assert.throws(() => nlaString(3, "a\0b"), TypeError);
});

Deno.test("nlaNested sets NLA_F_NESTED and counts the children", () => {
  // IFLA_LINKINFO { IFLA_INFO_KIND "veth" }
  const got = nlaNested(18, [nlaString(1, "veth")]);
  assert.deepEqual(
    got,
    bytes(16, 0, 18, 0x80, 9, 0, 1, 0, 0x76, 0x65, 0x74, 0x68, 0, 0, 0, 0),
  );
});

Deno.test("encodeMessage writes struct nlmsghdr and pads the payload", () => {
  const msg = encodeMessage({ type: 16, flags: 0x605, seq: 0x01020304, pid: 0 }, bytes(1, 2, 3));
  // deno-fmt-ignore
  const want = bytes(
    19, 0, 0, 0,    // nlmsg_len = 16 + 3
    16, 0,          // RTM_NEWLINK
    0x05, 0x06,     // REQUEST|ACK|EXCL|CREATE
    4, 3, 2, 1,     // seq
    0, 0, 0, 0,     // pid
    1, 2, 3, 0,     // payload + pad
  );
  assert.deepEqual(msg, want);
});

Deno.test("decodeMessages splits a datagram at aligned lengths", () => {
  const a = encodeMessage({ type: 16, flags: 2, seq: 9, pid: 77 }, bytes(1, 2, 3, 4, 5));
  const b = encodeMessage({ type: 3, flags: 2, seq: 9, pid: 77 }, bytes(0, 0, 0, 0));
  const msgs = decodeMessages(Uint8Array.from([...a, ...b]));
  assert.equal(msgs.length, 2);
  assert.deepEqual(msgs[0], { type: 16, flags: 2, seq: 9, pid: 77, payload: bytes(1, 2, 3, 4, 5) });
  assert.equal(msgs[1]!.type, 3);
  assert.throws(() => decodeMessages(bytes(40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
});

Deno.test("decodeAttrs clears flag bits, marks nests, keeps repeats, stops at a short one", () => {
  // deno-fmt-ignore
  const buf = Uint8Array.from([
    ...nlaNested(4, [nlaU32(1, 5)]),
    ...nlaString(1, "x"),
    ...nlaString(1, "y"),
    9, 0, 2, 0, 1, // truncated: says 9 bytes, has 5
  ]);
  const attrs = decodeAttrs(buf);
  assert.equal(attrs.length, 3);
  assert.equal(attrs[0]!.type, 4);
  assert.equal(attrs[0]!.nested, true);
  assert.equal(readU32(attrMap(attrs[0]!.value).get(1)), 5);
  assert.equal(readString(attrs[2]!.value), "y");
  assert.equal(readString(attrMap(buf).get(1)), "y");
});

Deno.test("readers decode each width and order", () => {
  assert.equal(readU16be(bytes(0x1f, 0x90)), 8080);
  assert.equal(readU32be(bytes(0, 0, 1, 0)), 256);
  assert.equal(readU64be(bytes(0, 0, 0, 0, 0, 0, 0, 42)), 42n);
  assert.equal(readU32(bytes(1, 2)), undefined);
  assert.equal(readString(bytes(0x61, 0x62, 0, 0x63)), "ab");
});

Deno.test("decodeError reads a capped error with extended-ACK text and offset", () => {
  // struct nlmsgerr { int error = -EOPNOTSUPP; struct nlmsghdr msg } + TLVs
  // deno-fmt-ignore
  const payload = Uint8Array.from([
    0xa1, 0xff, 0xff, 0xff,                                   // -95
    40, 0, 0, 0, 16, 0, 0x05, 0x06, 7, 0, 0, 0, 0, 0, 0, 0,   // the request's header
    ...nlaString(1, "Unknown device type"),                   // NLMSGERR_ATTR_MSG
    ...nlaU32(2, 36),                                         // NLMSGERR_ATTR_OFFS
  ]);
  const e = decodeError(payload, NLM_F.CAPPED | NLM_F.ACK_TLVS);
  assert.deepEqual(e, {
    errno: 95,
    request: { type: 16, flags: 0x605, seq: 7, pid: 0 },
    message: "Unknown device type",
    offset: 36,
  });
});

Deno.test("decodeError skips an echoed request payload when not capped", () => {
  // deno-fmt-ignore
  const payload = Uint8Array.from([
    0xef, 0xff, 0xff, 0xff,                                   // -17
    22, 0, 0, 0, 16, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,         // header, nlmsg_len 22
    1, 2, 3, 4, 5, 6, 0, 0,                                   // its 6-byte payload, padded
    ...nlaString(1, "exists"),
  ]);
  const e = decodeError(payload, NLM_F.ACK_TLVS);
  assert.equal(e.errno, 17);
  assert.equal(e.message, "exists");
  assert.equal(decodeError(payload.subarray(0, 20), 0).message, undefined);
});

Deno.test("decodeDone reads the dump's error", () => {
  assert.equal(decodeDone(bytes(0, 0, 0, 0)), 0);
  assert.equal(decodeDone(bytes(0xfc, 0xff, 0xff, 0xff)), -4);
  assert.equal(decodeDone(new Uint8Array(0)), 0);
});
