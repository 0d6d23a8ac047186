import assert from "node:assert/strict";
import { checkSysctl, hostSysctlName } from "./sysctl.ts";

Deno.test("checkSysctl refuses unknown names and non-numbers for numeric parameters", () => {
  checkSysctl("net.ipv4.ip_forward", "1", "0");
  checkSysctl("net.ipv4.ip_local_port_range", "1024 65000", "32768\t60999");
  checkSysctl("net.ipv4.tcp_congestion_control", "reno", "cubic");
  assert.throws(
    () => checkSysctl("net.ipv4.bogus", "1", undefined),
    /has no parameter net.ipv4.bogus/,
  );
  assert.throws(() => checkSysctl("net.ipv4.ip_forward", "abc", "1"), /expected an integer/);
  assert.throws(
    () => checkSysctl("net.ipv4.ip_local_port_range", "1024", "32768 60999"),
    /expected 2 integers/,
  );
});

Deno.test("hostSysctlName checks eth0's parameters as default's", () => {
  assert.equal(hostSysctlName("net.ipv4.conf.eth0.rp_filter"), "net.ipv4.conf.default.rp_filter");
  assert.equal(hostSysctlName("net.ipv4.ip_forward"), "net.ipv4.ip_forward");
});
