import assert from "node:assert/strict";
import {
  checkGateway,
  contains,
  formatSubnet,
  hostRange,
  ipToU32,
  macForAddress,
  overlaps,
  parseSubnet,
  u32ToIp,
} from "./addr.ts";

Deno.test("ipToU32 / u32ToIp round-trip, unsigned", () => {
  assert.equal(ipToU32("172.17.0.2"), 0xac110002);
  assert.equal(ipToU32("255.255.255.255"), 0xffffffff);
  assert.equal(u32ToIp(0xc0a80001), "192.168.0.1");
  assert.throws(() => ipToU32("1.2.3"), /invalid IPv4 address "1.2.3"/);
});

Deno.test("parseSubnet: accepts a network address, refuses host bits and bad text", () => {
  assert.deepEqual(parseSubnet("172.18.0.0/16"), { base: 0xac120000, prefixLen: 16 });
  assert.equal(formatSubnet(parseSubnet("10.1.2.0/24")), "10.1.2.0/24");
  assert.throws(() => parseSubnet("172.18.0.1/16"), /it should be 172\.18\.0\.0\/16/);
  assert.throws(
    () => parseSubnet("172.18.0.0"),
    /invalid subnet "172.18.0.0": expected A.B.C.D\/N/,
  );
  assert.throws(() => parseSubnet("300.1.0.0/16"), /invalid subnet/);
  assert.throws(() => parseSubnet("10.0.0.0/33"), /invalid subnet/);
  assert.throws(() => parseSubnet("10.0.0.0/31"), /prefix length must be 1 to 30/);
  assert.throws(() => parseSubnet("banana"), /invalid subnet "banana"/);
});

Deno.test("overlaps and contains: nested, equal, adjacent", () => {
  const a = parseSubnet("172.18.0.0/16");
  assert.ok(overlaps(a, parseSubnet("172.18.5.0/24")));
  assert.ok(overlaps(parseSubnet("172.18.5.0/24"), a));
  assert.ok(overlaps(a, parseSubnet("172.16.0.0/12")));
  assert.ok(!overlaps(a, parseSubnet("172.19.0.0/16")));
  assert.ok(contains(a, ipToU32("172.18.255.254")));
  assert.ok(!contains(a, ipToU32("172.19.0.1")));
});

Deno.test("hostRange and checkGateway exclude the network and broadcast addresses", () => {
  const s = parseSubnet("10.0.0.0/30");
  assert.deepEqual(hostRange(s), { first: ipToU32("10.0.0.1"), last: ipToU32("10.0.0.2") });
  assert.equal(checkGateway(s, "10.0.0.1"), ipToU32("10.0.0.1"));
  assert.throws(() => checkGateway(s, "10.0.0.3"), /invalid gateway 10.0.0.3/);
  assert.throws(() => checkGateway(s, "10.0.0.0"), /not a host address of subnet 10.0.0.0\/30/);
  assert.throws(() => checkGateway(s, "10.0.1.1"), /invalid gateway/);
});

Deno.test("macForAddress is 02:42 and the address bytes, like Docker", () => {
  assert.equal(macForAddress("172.17.0.2"), "02:42:ac:11:00:02");
  assert.equal(macForAddress("10.255.0.17"), "02:42:0a:ff:00:11");
});
