import assert from "node:assert/strict";
import {
  exposedPorts,
  formatPortLines,
  formatPortsColumn,
  parsePublish,
  portRequests,
  sameHostPort,
} from "./ports.ts";

Deno.test("parsePublish: the four Docker forms, with and without protocol", () => {
  assert.deepEqual(parsePublish("8080:80"), [
    { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, proto: "tcp" },
  ]);
  assert.deepEqual(parsePublish("80"), [{ hostIp: "0.0.0.0", containerPort: 80, proto: "tcp" }]);
  assert.deepEqual(parsePublish("127.0.0.1:8080:80/udp"), [
    { hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "udp" },
  ]);
  assert.deepEqual(parsePublish("10.0.0.1::53/UDP"), [
    { hostIp: "10.0.0.1", containerPort: 53, proto: "udp" },
  ]);
});

Deno.test("parsePublish: ranges of equal length, one binding per port", () => {
  assert.deepEqual(parsePublish("8000-8001:80-81").map((r) => [r.hostPort, r.containerPort]), [
    [8000, 80],
    [8001, 81],
  ]);
  assert.equal(parsePublish("80-82").length, 3);
  assert.throws(() => parsePublish("8000-8002:80-81"), /ranges differ in length/);
  assert.throws(() => parsePublish("81-80"), /range 81-80 is reversed/);
});

Deno.test("parsePublish: bad specs name the spec and the part", () => {
  assert.throws(() => parsePublish("8080:0"), /"8080:0": container port 0 is out of range/);
  assert.throws(() => parsePublish("70000:80"), /host port 70000 is out of range/);
  assert.throws(() => parsePublish("8080:80/dccp"), /protocol "dccp" is not supported/);
  assert.throws(() => parsePublish("0:80-81"), /host port 0 takes one container port/);
  assert.throws(() => parsePublish("1.2.3:8080:80"), /host address "1.2.3" is not an IPv4/);
  assert.throws(() => parsePublish("a:b:c:d"), /expected \[IP:\]\[HOSTPORT:\]PORT/);
  assert.throws(() => parsePublish("http"), /container port "http" is not a port/);
  assert.throws(() => parsePublish("[::1]:80:80"), /IPv6/);
  assert.throws(() => parsePublish(""), /invalid port specification/);
});

Deno.test("parsePublish: host port 0 is a random one, sctp is a protocol (as Docker)", () => {
  assert.deepEqual(parsePublish("0:80"), [{ hostIp: "0.0.0.0", containerPort: 80, proto: "tcp" }]);
  assert.deepEqual(parsePublish("127.0.0.1:0:53/udp"), [
    { hostIp: "127.0.0.1", containerPort: 53, proto: "udp" },
  ]);
  assert.deepEqual(parsePublish("80:80/sctp"), [
    { hostIp: "0.0.0.0", hostPort: 80, containerPort: 80, proto: "sctp" },
  ]);
});

Deno.test("exposedPorts: sorted, default tcp, junk skipped", () => {
  assert.deepEqual(exposedPorts({ "53/udp": {}, "80/tcp": {}, "8080": {}, "x/tcp": {} }), [
    { containerPort: 53, proto: "udp" },
    { containerPort: 80, proto: "tcp" },
    { containerPort: 8080, proto: "tcp" },
  ]);
  assert.deepEqual(exposedPorts(undefined), []);
});

Deno.test("sameHostPort: 0.0.0.0 overlaps every address; protocols are separate", () => {
  const b = (hostIp: string, hostPort: number, proto: "tcp" | "udp" = "tcp") => ({
    hostIp,
    hostPort,
    proto,
  });
  assert.ok(sameHostPort(b("0.0.0.0", 80), b("127.0.0.1", 80)));
  assert.ok(sameHostPort(b("10.0.0.1", 80), b("10.0.0.1", 80)));
  assert.ok(!sameHostPort(b("10.0.0.1", 80), b("10.0.0.2", 80)));
  assert.ok(!sameHostPort(b("0.0.0.0", 80), b("0.0.0.0", 80, "udp")));
  assert.ok(!sameHostPort(b("0.0.0.0", 80), b("0.0.0.0", 81)));
});

Deno.test("portRequests: -P adds exposed ports not published with -p; duplicates refused", () => {
  const exposed = { "80/tcp": {}, "443/tcp": {} };
  assert.deepEqual(portRequests(["8080:80"], true, exposed), [
    { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, proto: "tcp" },
    { hostIp: "0.0.0.0", containerPort: 443, proto: "tcp" },
  ]);
  assert.deepEqual(portRequests([], false, exposed), []);
  assert.throws(
    () => portRequests(["8080:80", "127.0.0.1:8080:81"], false, {}),
    /port 127.0.0.1:8080\/tcp is published twice/,
  );
  assert.equal(portRequests(["8080:80", "8080:80/udp"], false, {}).length, 2);
});

Deno.test("formatPortsColumn and formatPortLines print like docker ps and docker port", () => {
  const bs = [
    { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, proto: "tcp" as const },
    { hostIp: "127.0.0.1", hostPort: 5353, containerPort: 53, proto: "udp" as const },
  ];
  assert.equal(formatPortsColumn(bs), "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp");
  assert.deepEqual(formatPortLines(bs), ["80/tcp -> 0.0.0.0:8080", "53/udp -> 127.0.0.1:5353"]);
});
