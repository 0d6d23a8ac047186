import assert from "node:assert/strict";
import { nla, nlaNested, nlaString, nlaU32, nlaU8 } from "./message.ts";
import {
  addrPayload,
  decodeAddress,
  decodeLink,
  decodeRoute,
  encodeIfInfoMsg,
  IFLA_BRPORT,
  linkPayload,
  routePayload,
  RT_SCOPE,
  RT_TABLE,
  RTN,
  RTPROT,
  vethPeerInfo,
} from "./route_msg.ts";

const b = (...x: number[]) => Uint8Array.from(x);
const str = (s: string) => [...new TextEncoder().encode(s)];
const zeros = (n: number) => new Array<number>(n).fill(0);

Deno.test("encodeIfInfoMsg lays out struct ifinfomsg", () => {
  assert.deepEqual(
    encodeIfInfoMsg({ family: 7, type: 1, index: 5, flags: 1, change: 1 }),
    b(7, 0, 1, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0),
  );
});

Deno.test("linkPayload of a veth whose peer goes into another namespace", () => {
  const got = linkPayload({}, {
    name: "veth0",
    linkInfo: { kind: "veth", data: [vethPeerInfo({ name: "eth0", netnsFd: 5 })] },
  });
  // deno-fmt-ignore
  const want = b(
    ...zeros(16),                               // struct ifinfomsg
    10, 0, 3, 0, ...str("veth0"), 0, 0, 0,      // IFLA_IFNAME
    60, 0, 18, 0x80,                            // IFLA_LINKINFO | NLA_F_NESTED
      9, 0, 1, 0, ...str("veth"), 0, 0, 0, 0,   //   IFLA_INFO_KIND
      44, 0, 2, 0x80,                           //   IFLA_INFO_DATA | NLA_F_NESTED
        40, 0, 1, 0,                            //     VETH_INFO_PEER (a struct first: no NLA_F_NESTED)
          ...zeros(16),                         //       the peer's struct ifinfomsg
          9, 0, 3, 0, ...str("eth0"), 0, 0, 0, 0, // IFLA_IFNAME
          8, 0, 28, 0, 5, 0, 0, 0,              //       IFLA_NET_NS_FD 5
  );
  assert.deepEqual(got, want);
});

Deno.test("linkPayload orders name, address, mtu, master, netns, linkinfo, ext mask", () => {
  const got = linkPayload({ index: 3 }, {
    extMask: 8,
    netnsPid: 42,
    master: 2,
    mtu: 1500,
    mac: b(2, 0x42, 0xac, 0x11, 0, 2),
    name: "eth0",
  });
  // deno-fmt-ignore
  const want = b(
    0, 0, 0, 0, 3, 0, 0, 0, ...zeros(8),        // ifinfomsg, index 3
    ...nlaString(3, "eth0"),                    // IFLA_IFNAME
    10, 0, 1, 0, 2, 0x42, 0xac, 0x11, 0, 2, 0, 0, // IFLA_ADDRESS
    8, 0, 4, 0, 0xdc, 0x05, 0, 0,               // IFLA_MTU 1500
    8, 0, 10, 0, 2, 0, 0, 0,                    // IFLA_MASTER 2
    8, 0, 19, 0, 42, 0, 0, 0,                   // IFLA_NET_NS_PID 42
    8, 0, 29, 0, 8, 0, 0, 0,                    // IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS
  );
  assert.deepEqual(got, want);
});

Deno.test("bridge port hairpin is AF_BRIDGE + nested IFLA_PROTINFO { IFLA_BRPORT_MODE }", () => {
  const got = linkPayload({ family: 7, index: 4 }, { protinfo: [nlaU8(IFLA_BRPORT.MODE, 1)] });
  // deno-fmt-ignore
  const want = b(
    7, 0, 0, 0, 4, 0, 0, 0, ...zeros(8),        // ifinfomsg: AF_BRIDGE, index 4
    12, 0, 12, 0x80,                            // IFLA_PROTINFO | NLA_F_NESTED
      5, 0, 4, 0, 1, 0, 0, 0,                   //   IFLA_BRPORT_MODE 1 (hairpin)
  );
  assert.deepEqual(got, want);
});

Deno.test("addrPayload: ifaddrmsg, IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST", () => {
  const got = addrPayload({
    index: 3,
    address: b(172, 17, 0, 2),
    prefixLen: 16,
    broadcast: b(172, 17, 255, 255),
  });
  // deno-fmt-ignore
  const want = b(
    2, 16, 0, 0, 3, 0, 0, 0,                    // AF_INET, /16, flags, scope universe, ifindex 3
    8, 0, 2, 0, 172, 17, 0, 2,                  // IFA_LOCAL
    8, 0, 1, 0, 172, 17, 0, 2,                  // IFA_ADDRESS
    8, 0, 4, 0, 172, 17, 255, 255,              // IFA_BROADCAST
  );
  assert.deepEqual(got, want);
});

Deno.test("routePayload of a default route via a gateway in table main", () => {
  const got = routePayload({
    dst: b(0, 0, 0, 0),
    dstLen: 0,
    gateway: b(172, 17, 0, 1),
    table: RT_TABLE.MAIN,
    protocol: RTPROT.BOOT,
    scope: RT_SCOPE.UNIVERSE,
    type: RTN.UNICAST,
  });
  // deno-fmt-ignore
  const want = b(
    2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0,       // rtmsg: AF_INET, /0, main, boot, universe, unicast
    8, 0, 15, 0, 254, 0, 0, 0,                  // RTA_TABLE
    8, 0, 5, 0, 172, 17, 0, 1,                  // RTA_GATEWAY
  );
  assert.deepEqual(got, want);
});

Deno.test("routePayload of an on-link route, with a table above 255", () => {
  const got = routePayload({
    dst: b(10, 88, 0, 0),
    dstLen: 24,
    oif: 2,
    table: 1000,
    protocol: RTPROT.BOOT,
    scope: RT_SCOPE.LINK,
    type: RTN.UNICAST,
  });
  // deno-fmt-ignore
  const want = b(
    2, 24, 0, 0, 0, 3, 253, 1, 0, 0, 0, 0,      // rtm_table 0 (RT_TABLE_UNSPEC): see RTA_TABLE
    8, 0, 15, 0, 0xe8, 0x03, 0, 0,              // RTA_TABLE 1000
    8, 0, 1, 0, 10, 88, 0, 0,                   // RTA_DST
    8, 0, 4, 0, 2, 0, 0, 0,                     // RTA_OIF
  );
  assert.deepEqual(got, want);
});

Deno.test("decodeLink reads an RTM_NEWLINK answer", () => {
  // deno-fmt-ignore
  const payload = b(
    0, 0, 1, 0, 7, 0, 0, 0, 0x43, 0x10, 1, 0, 0, 0, 0, 0, // ARPHRD_ETHER, index 7, UP|RUNNING|LOWER_UP|...
    ...nlaString(3, "eth0"),
    ...nlaU32(4, 1500),
    ...nla(1, b(2, 0x42, 0xac, 0x11, 0, 2)),
    ...nlaU32(10, 2),
    ...nlaU8(16, 6),
    ...nlaU32(5, 8),
    ...nlaNested(18, [nlaString(1, "veth")]),
  );
  assert.deepEqual(decodeLink(payload), {
    index: 7,
    name: "eth0",
    flags: 0x11043,
    up: true,
    type: 1,
    mtu: 1500,
    mac: "02:42:ac:11:00:02",
    master: 2,
    kind: "veth",
    operState: "up",
    parent: 8,
  });
});

Deno.test("decodeAddress reads IPv4 and ignores other families", () => {
  // deno-fmt-ignore
  const payload = b(
    2, 24, 0x80, 0, 3, 0, 0, 0,
    ...nla(1, b(10, 88, 0, 2)),
    ...nla(2, b(10, 88, 0, 2)),
    ...nla(4, b(10, 88, 0, 255)),
    ...nlaString(3, "eth0"),
  );
  assert.deepEqual(decodeAddress(payload), {
    index: 3,
    address: "10.88.0.2",
    prefixLen: 24,
    cidr: "10.88.0.2/24",
    broadcast: "10.88.0.255",
    label: "eth0",
    scope: 0,
  });
  assert.equal(decodeAddress(b(10, 64, 0, 0, 3, 0, 0, 0)), undefined);
});

Deno.test("decodeRoute reads destination, gateway, table and output link", () => {
  // deno-fmt-ignore
  const payload = b(
    2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0,
    ...nlaU32(15, 254),
    ...nla(5, b(10, 88, 0, 1)),
    ...nlaU32(4, 3),
  );
  assert.deepEqual(decodeRoute(payload), {
    dst: "default",
    dstLen: 0,
    gateway: "10.88.0.1",
    oif: 3,
    table: 254,
    protocol: 3,
    scope: 0,
    type: 1,
    flags: 0,
  });
  const onlink = decodeRoute(
    b(2, 24, 0, 0, 254, 2, 253, 1, 0, 0, 0, 0, ...nla(1, b(10, 88, 0, 0))),
  );
  assert.equal(onlink?.dst, "10.88.0.0/24");
  assert.equal(onlink?.scope, 253);
});
