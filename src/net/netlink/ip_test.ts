import assert from "node:assert/strict";
import {
  broadcastOf,
  formatIPv4,
  formatIPv6,
  formatMac,
  networkOf,
  parseCidr,
  parseIPv4,
  parseMac,
  prefixMask,
} from "./ip.ts";

Deno.test("parseIPv4 and formatIPv4 round-trip; bad text throws", () => {
  assert.deepEqual(parseIPv4("172.17.0.1"), Uint8Array.of(172, 17, 0, 1));
  assert.equal(formatIPv4(Uint8Array.of(10, 88, 0, 255)), "10.88.0.255");
  for (const bad of ["1.2.3", "1.2.3.256", "01.2.3.4", "a.b.c.d", "1.2.3.4 ", ""]) {
    assert.throws(() => parseIPv4(bad), TypeError, bad);
  }
});

Deno.test("parseCidr keeps the written address and the prefix", () => {
  assert.deepEqual(parseCidr("172.17.0.2/16"), {
    address: Uint8Array.of(172, 17, 0, 2),
    prefixLen: 16,
  });
  assert.equal(parseCidr("10.0.0.1").prefixLen, 32);
  assert.throws(() => parseCidr("10.0.0.1/33"), TypeError);
  assert.throws(() => parseCidr("10.0.0.1/x"), TypeError);
  assert.throws(() => parseCidr("10.0.0.1/8/8"), TypeError);
});

Deno.test("prefixMask, networkOf and broadcastOf", () => {
  assert.deepEqual(prefixMask(0), Uint8Array.of(0, 0, 0, 0));
  assert.deepEqual(prefixMask(20), Uint8Array.of(255, 255, 240, 0));
  assert.deepEqual(prefixMask(32), Uint8Array.of(255, 255, 255, 255));
  const c = parseCidr("172.17.5.9/20");
  assert.equal(formatIPv4(networkOf(c)), "172.17.0.0");
  assert.equal(formatIPv4(broadcastOf(c)), "172.17.15.255");
});

Deno.test("parseMac and formatMac round-trip", () => {
  assert.deepEqual(parseMac("02:42:AC:11:00:02"), Uint8Array.of(2, 0x42, 0xac, 0x11, 0, 2));
  assert.equal(formatMac(Uint8Array.of(2, 0x42, 0xac, 0x11, 0, 2)), "02:42:ac:11:00:02");
  assert.throws(() => parseMac("02:42:ac:11:00"), TypeError);
  assert.throws(() => parseMac("02:42:ac:11:00:zz"), TypeError);
});

Deno.test("formatIPv6 shortens the longest zero run", () => {
  const b = new Uint8Array(16);
  b[15] = 1;
  assert.equal(formatIPv6(b), "::1");
  const c = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x42, 0xac, 0xff, 0xfe, 0x11, 0, 2]);
  assert.equal(formatIPv6(c), "fe80::42:acff:fe11:2");
  const d = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  assert.equal(formatIPv6(d), "2001:db8:1:0:1::1");
});
