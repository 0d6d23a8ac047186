import assert from "node:assert/strict";
import { sysctlPath } from "./sysctl.ts";

Deno.test("sysctlPath maps dotted names under /proc/sys", () => {
  assert.equal(sysctlPath("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  assert.equal(
    sysctlPath("net.ipv4.conf.eth0.route_localnet"),
    "/proc/sys/net/ipv4/conf/eth0/route_localnet",
  );
});

Deno.test("sysctlPath takes / as the separator so names may hold dots", () => {
  assert.equal(
    sysctlPath("net/ipv4/conf/eth0.100/forwarding"),
    "/proc/sys/net/ipv4/conf/eth0.100/forwarding",
  );
});

Deno.test("sysctlPath refuses empty and parent components", () => {
  for (const bad of ["", "net..ipv4", "net/../../etc/passwd", ".net"]) {
    assert.throws(() => sysctlPath(bad), /invalid sysctl name/, bad);
  }
});
