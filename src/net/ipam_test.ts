import assert from "node:assert/strict";
import { ipToU32, parseSubnet } from "./addr.ts";
import { pickAddress } from "./ipam.ts";

Deno.test("pickAddress: skips gateway, goes past the highest lease, wraps, and fills up", () => {
  const s = parseSubnet("10.0.0.0/29"); // hosts .1 - .6
  const gw = ipToU32("10.0.0.1");
  const ip = (n: number) => ipToU32(`10.0.0.${n}`);
  assert.equal(pickAddress(s, gw, new Set()), ip(2));
  assert.equal(pickAddress(s, gw, new Set([ip(2)])), ip(3));
  // .3 was released but .4 is still leased: the next one is .5, not .3.
  assert.equal(pickAddress(s, gw, new Set([ip(2), ip(4)])), ip(5));
  // The top is taken: wrap to the lowest free.
  assert.equal(pickAddress(s, gw, new Set([ip(6)])), ip(2));
  assert.equal(pickAddress(s, gw, new Set([ip(2), ip(3), ip(4), ip(5), ip(6)])), undefined);
  // A gateway in the middle is never handed out.
  assert.equal(pickAddress(s, ip(3), new Set([ip(1), ip(2)])), ip(4));
});

Deno.test("pickAddress: a /30 has exactly one address besides the gateway", () => {
  const s = parseSubnet("192.168.9.0/30");
  const gw = ipToU32("192.168.9.1");
  assert.equal(pickAddress(s, gw, new Set()), ipToU32("192.168.9.2"));
  assert.equal(pickAddress(s, gw, new Set([ipToU32("192.168.9.2")])), undefined);
});

Deno.test("pickAddress: serial after the last handed out, even when it was released", () => {
  const s = parseSubnet("10.0.0.0/29"); // hosts .1 - .6
  const gw = ipToU32("10.0.0.1");
  const ip = (n: number) => ipToU32(`10.0.0.${n}`);
  // .3 was handed out last and released: .4 comes next, not .3 again.
  assert.equal(pickAddress(s, gw, new Set([ip(2)]), ip(3)), ip(4));
  // Past the end: wrap to the lowest free.
  assert.equal(pickAddress(s, gw, new Set([ip(3)]), ip(6)), ip(2));
  // A cursor outside the subnet (the subnet changed) is ignored.
  assert.equal(pickAddress(s, gw, new Set(), ipToU32("10.9.9.9")), ip(2));
});
