// Root tests of src/net/netlink against the real kernel. Every test works only
// inside network namespaces it creates (`ip netns add tsbox-t-...`) and
// deletes; the library's sockets are opened inside them by fd, and the result
// is observed with `nsenter --net=/run/netns/NAME ip -j ...` / `nft list
// ruleset` / busybox ping. The host's own namespace is only read, to check
// that nothing leaked into it.

import assert from "node:assert/strict";
import { Errno } from "../ffi/errno.ts";
import { NETLINK_NETFILTER, NETLINK_ROUTE } from "../ffi/constants.ts";
import { assertNoLeaks, requires, snapshot } from "./lib/harness.ts";
import {
  leftoverTestNetns,
  openSocketAndNsFds,
  type TestNetns,
  withTestNetns,
} from "./lib/netns.ts";
import { NetlinkError, NetlinkSocket } from "../src/net/netlink/socket.ts";
import * as rt from "../src/net/netlink/route.ts";
import * as m from "../src/net/netlink/nft_match.ts";
import { listRules, listTables, NftBatch } from "../src/net/netlink/nftables.ts";
import { dumpConntrack } from "../src/net/netlink/conntrack.ts";
import { readSysctl, writeSysctl } from "../src/net/netlink/sysctl.ts";

interface IpLink {
  ifname: string;
  address?: string;
  master?: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_slave_data?: { hairpin?: boolean } };
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; broadcast?: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** Runs `fn` with no leaks left in the host: links, nft tables, fds, test namespaces. */
function netTest(name: string, tags: string[], fn: (...ns: TestNetns[]) => Promise<void> | void) {
  Deno.test({
    name,
    ...requires("root", "nft", "busybox"),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const before = await snapshot();
      const fds = openSocketAndNsFds();
      const hostNetns = Deno.readLinkSync("/proc/thread-self/ns/net");
      let names: string[] = [];
      await withTestNetns(tags, (...ns) => {
        names = ns.map((n) => n.name);
        return fn(...ns);
      });
      assert.equal(Deno.readLinkSync("/proc/thread-self/ns/net"), hostNetns);
      assert.deepEqual(openSocketAndNsFds(), fds, "fds left open");
      assert.deepEqual((await leftoverTestNetns()).filter((n) => names.includes(n)), []);
      await assertNoLeaks(before);
    },
  });
}

/** Opens a rtnetlink socket in `ns`; closed by `using`. */
function route(ns: TestNetns): NetlinkSocket {
  return NetlinkSocket.open(NETLINK_ROUTE, { netns: ns.fd });
}

async function ping(from: TestNetns, to: string): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    const r = await from.run(["busybox", "ping", "-c1", "-W1", to], { check: false });
    if (r.code === 0) return true;
  }
  return false;
}

/** A container end: veth from the bridge in `h` to `eth0` in `c`, addressed, default route. */
function attach(h: NetlinkSocket, c: TestNetns, hostEnd: string, cidr: string, mac: string) {
  rt.createVeth(h, { name: hostEnd, peerName: `${hostEnd}c`, peerNetnsFd: c.fd, peerMac: mac });
  rt.setLinkMaster(h, hostEnd, "tsbox0");
  rt.setLinkUp(h, hostEnd);
  using s = route(c);
  rt.renameLink(s, `${hostEnd}c`, "eth0");
  rt.addAddress(s, "eth0", cidr);
  rt.setLinkUp(s, "lo");
  rt.setLinkUp(s, "eth0");
  rt.addDefaultRoute(s, "10.88.0.1");
}

netTest("route: bridge, veth pairs into two namespaces, addresses, routes, ping", [
  "h",
  "a",
  "b",
], async (h, a, b) => {
  using sh = route(h);
  rt.createBridge(sh, { name: "tsbox0", mtu: 1500 });
  rt.addAddress(sh, "tsbox0", "10.88.0.1/24");
  rt.setLinkUp(sh, "tsbox0");
  attach(sh, a, "vetha", "10.88.0.2/24", "02:42:0a:58:00:02");
  attach(sh, b, "vethb", "10.88.0.3/24", "02:42:0a:58:00:03");

  // The host side: bridge with two ports; the peers never appeared here.
  const links = await h.ip<IpLink[]>("-d", "link", "show");
  const byName = new Map(links.map((l) => [l.ifname, l]));
  assert.equal(byName.get("tsbox0")?.linkinfo?.info_kind, "bridge");
  assert.equal(byName.get("vetha")?.master, "tsbox0");
  assert.equal(byName.get("vethb")?.master, "tsbox0");
  assert.ok(!byName.has("vethac") && !byName.has("eth0"));
  assert.deepEqual(
    rt.listLinks(sh).filter((l) => l.master !== undefined).map((l) => l.name).sort(),
    ["vetha", "vethb"],
  );

  // The container side: renamed, addressed, routed, MAC as asked.
  const [eth0] = await a.ip<IpAddr[]>("addr", "show", "eth0");
  assert.deepEqual(
    eth0?.addr_info.filter((i) => i.family === "inet").map((
      i,
    ) => [i.local, i.prefixlen, i.broadcast]),
    [
      ["10.88.0.2", 24, "10.88.0.255"],
    ],
  );
  const [link] = await a.ip<IpLink[]>("link", "show", "eth0");
  assert.equal(link?.address, "02:42:0a:58:00:02");
  const routes = await a.ip<IpRoute[]>("route", "show");
  assert.ok(
    routes.some((r) => r.dst === "default" && r.gateway === "10.88.0.1" && r.dev === "eth0"),
  );
  {
    using sa = route(a);
    assert.equal(rt.getLink(sa, "eth0")?.mac, "02:42:0a:58:00:02");
    assert.equal(rt.getLink(sa, "eth0")?.kind, "veth");
    assert.equal(rt.getLink(sa, "nope0"), undefined);
    assert.deepEqual(rt.listAddresses(sa, "eth0").map((x) => x.cidr), ["10.88.0.2/24"]);
    assert.ok(rt.listRoutes(sa).some((r) => r.dst === "default" && r.gateway === "10.88.0.1"));
  }

  // Traffic across the bridge, and to the bridge's address.
  assert.ok(await ping(a, "10.88.0.3"), "a -> b across the bridge");
  assert.ok(await ping(b, "10.88.0.1"), "b -> bridge address");

  // Hairpin on a port (for hairpin NAT).
  rt.setBridgePortHairpin(sh, "vetha", true);
  const [va] = await h.ip<IpLink[]>("-d", "link", "show", "vetha");
  assert.equal(va?.linkinfo?.info_slave_data?.hairpin, true);

  // MAC, MTU, down.
  rt.setLinkMac(sh, "vethb", "02:00:00:00:00:bb");
  rt.setLinkMtu(sh, "vethb", 1400);
  rt.setLinkDown(sh, "vethb");
  const [vb] = await h.ip<IpLink[]>("link", "show", "vethb");
  assert.equal(vb?.address, "02:00:00:00:00:bb");
  assert.equal(vb?.mtu, 1400);
  assert.ok(!vb?.flags?.includes("UP"));
  rt.setLinkMaster(sh, "vethb", null);
  assert.equal(rt.getLink(sh, "vethb")?.master, undefined);

  // Removal: route, address, then the link (its peer in b goes with it).
  {
    using sa = route(a);
    rt.deleteRoute(sa, { dst: "default", gateway: "10.88.0.1" });
    rt.deleteAddress(sa, "eth0", "10.88.0.2/24");
    assert.ok(!(await a.ip<IpRoute[]>("route", "show")).some((r) => r.dst === "default"));
    assert.deepEqual(rt.listAddresses(sa, "eth0"), []);
  }
  rt.deleteLink(sh, "vethb");
  assert.deepEqual((await b.ip<IpLink[]>("link", "show")).map((l) => l.ifname), ["lo"]);
});

netTest(
  "route: moving links by namespace fd and by pid; on-link routes",
  ["h", "x"],
  async (h, x) => {
    using sh = route(h);
    rt.createVeth(sh, { name: "vm0", peerName: "vm1" });
    rt.moveLinkToNetns(sh, "vm1", { fd: x.fd });
    assert.equal(rt.getLink(sh, "vm1"), undefined);
    using sx = route(x);
    assert.equal(rt.getLink(sx, "vm1")?.kind, "veth");

    // Back into h by the pid of a process that lives there.
    const sleeper = await h.spawnInside(["sleep", "30"]);
    try {
      assert.ok(h.contains(sleeper.pid));
      rt.moveLinkToNetns(sx, "vm1", { pid: sleeper.pid });
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.output();
    }
    assert.ok(rt.getLink(sh, "vm1"));

    rt.setLinkUp(sh, "vm0");
    rt.addAddress(sh, "vm0", "192.168.77.1/24");
    rt.addRoute(sh, { dst: "192.168.78.0/24", link: "vm0" });
    rt.addRoute(sh, { dst: "192.168.79.0/24", gateway: "192.168.78.1", link: "vm0", onlink: true });
    const routes = await h.ip<(IpRoute & { scope?: string; flags?: string[] })[]>("route", "show");
    assert.ok(
      routes.some((r) => r.dst === "192.168.78.0/24" && r.dev === "vm0" && r.scope === "link"),
    );
    assert.ok(
      routes.some((r) =>
        r.dst === "192.168.79.0/24" && r.gateway === "192.168.78.1" && r.flags?.includes("onlink")
      ),
    );
    assert.deepEqual(
      rt.listRoutes(sh).filter((r) => r.dst.startsWith("192.168.7")).map((
        r,
      ) => [r.dst, r.gateway ?? null]),
      [["192.168.77.0/24", null], ["192.168.78.0/24", null], ["192.168.79.0/24", "192.168.78.1"]],
    );
    rt.deleteRoute(sh, { dst: "192.168.79.0/24", gateway: "192.168.78.1", link: "vm0" });
    rt.deleteLink(sh, "vm0");
  },
);

netTest("route: errors name the request, the link and the errno", ["h"], (h) => {
  using sh = route(h);
  rt.createBridge(sh, { name: "tsbox0" });
  rt.createVeth(sh, { name: "veth1234567", peerName: "veth1234567p" });

  const exists = (fn: () => void, name: string) =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.errno, Errno.EEXIST);
      assert.equal(e.code, "EEXIST");
      assert.match(
        e.message,
        new RegExp(`^netlink RTM_NEWLINK "${name}".*: EEXIST \\(File exists\\)`),
      );
      return true;
    });
  exists(() => rt.createBridge(sh, { name: "tsbox0" }), "tsbox0");
  exists(() => rt.createVeth(sh, { name: "veth1234567", peerName: "other0" }), "veth1234567");

  assert.throws(() => rt.deleteLink(sh, "nope0"), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, "ENODEV");
    assert.equal(e.message, 'netlink RTM_DELLINK "nope0": ENODEV (No such device)');
    return true;
  });
  assert.throws(() => rt.setLinkUp(sh, "nope0"), /RTM_SETLINK "nope0" up: ENODEV/);
  assert.throws(() => rt.addAddress(sh, "nope0", "10.0.0.1/8"), /RTM_GETLINK "nope0": ENODEV/);

  // The kernel's extended-ACK text is part of the message.
  assert.throws(
    () => rt.createBridge(sh, { name: "tsbox1", mtu: 10 }),
    /RTM_NEWLINK "tsbox1" type bridge: EINVAL \(Invalid argument\) \(kernel: .*mtu.*\)/,
  );
  // Names are checked before anything is sent.
  assert.throws(
    () => rt.createBridge(sh, { name: "a-name-far-too-long" }),
    /invalid interface name/,
  );
  rt.deleteLink(sh, "veth1234567");
  rt.deleteLink(sh, "tsbox0");
});

netTest(
  "socket: opening in a namespace leaves the thread in its own; dumps see only that namespace",
  [
    "h",
  ],
  (h) => {
    const own = Deno.readLinkSync("/proc/thread-self/ns/net");
    using sh = route(h);
    assert.equal(Deno.readLinkSync("/proc/thread-self/ns/net"), own);
    rt.createBridge(sh, { name: "tsbox9" });
    assert.deepEqual(rt.listLinks(sh).map((l) => l.name).sort(), ["lo", "tsbox9"]);
    assert.ok(sh.portId > 0);
    // A many-message dump (more than one datagram) arrives whole, also through a
    // receive buffer smaller than the kernel's datagrams (peek, grow, receive).
    for (let i = 0; i < 40; i++) rt.createBridge(sh, { name: `tsb${i}` });
    assert.equal(rt.listLinks(sh).length, 42);
    using small = NetlinkSocket.open(NETLINK_ROUTE, { netns: h.fd, bufferSize: 256 });
    assert.equal(rt.listLinks(small).length, 42);
  },
);

// ---- nftables, conntrack, sysctl ------------------------------------------------

/** A one-connection TCP server in `ns` that answers with the peer address it saw. */
async function serveOnce(ns: TestNetns, port: number): Promise<Deno.ChildProcess> {
  const code = `const l = Deno.listen({ hostname: "0.0.0.0", port: ${port} });
    console.log("ready");
    const c = await l.accept();
    await c.write(new TextEncoder().encode(c.remoteAddr.hostname + "\\n"));
    c.close(); l.close();`;
  const p = ns.spawn(["timeout", "20", Deno.execPath(), "eval", code]);
  const reader = p.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  assert.match(new TextDecoder().decode(value), /ready/);
  return p;
}

/** Connects from `ns` to host:port; returns what the server said, or undefined on failure. */
async function connect(ns: TestNetns, hostname: string, port: number): Promise<string | undefined> {
  const code = `const c = await Deno.connect({ hostname: "${hostname}", port: ${port} });
    const b = new Uint8Array(64); const n = await c.read(b);
    console.log(new TextDecoder().decode(b.subarray(0, n ?? 0)).trim()); c.close();`;
  const r = await ns.run(["timeout", "10", Deno.execPath(), "eval", code], { check: false });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

const T = { family: "ip" as const, table: "tsbox" };

netTest("nftables + conntrack: masquerade and port forwarding through a router namespace", [
  "h",
  "c",
  "x",
], async (h, c, x) => {
  // c (10.88.0.2) -- tsbox0 bridge [h: 10.88.0.1 | 10.99.0.1 uplink] -- x (10.99.0.2)
  using sh = route(h);
  rt.createBridge(sh, { name: "tsbox0" });
  rt.addAddress(sh, "tsbox0", "10.88.0.1/24");
  rt.setLinkUp(sh, "tsbox0");
  attach(sh, c, "vethc", "10.88.0.2/24", "02:42:0a:58:00:02");
  rt.createVeth(sh, { name: "uplink", peerName: "eth0", peerNetnsFd: x.fd });
  rt.addAddress(sh, "uplink", "10.99.0.1/24");
  rt.setLinkUp(sh, "uplink");
  {
    using sx = route(x);
    rt.addAddress(sx, "eth0", "10.99.0.2/24");
    rt.setLinkUp(sx, "eth0");
  }
  const hostForward = readSysctl("net.ipv4.ip_forward");
  writeSysctl("net.ipv4.ip_forward", "1", { netns: h.fd });
  assert.equal(readSysctl("net.ipv4.ip_forward", { netns: h.fd }), "1");
  assert.equal((await h.run(["cat", "/proc/sys/net/ipv4/ip_forward"])).stdout.trim(), "1");
  assert.equal(readSysctl("net.ipv4.ip_forward"), hostForward, "the host's value is untouched");

  using nf = NetlinkSocket.open(NETLINK_NETFILTER, { netns: h.fd });
  new NftBatch()
    .addTable("ip", "tsbox")
    .addChain({
      ...T,
      name: "postrouting",
      base: { type: "nat", hook: "postrouting", priority: "srcnat" },
    })
    .addChain({
      ...T,
      name: "prerouting",
      base: { type: "nat", hook: "prerouting", priority: "dstnat" },
    })
    .addChain({
      ...T,
      name: "forward",
      base: { type: "filter", hook: "forward", priority: "filter", policy: "drop" },
    })
    .addChain({ ...T, name: "TSBOX" })
    .addRule({
      ...T,
      chain: "postrouting",
      exprs: [...m.ipSaddr("10.88.0.0/24"), ...m.oifname("tsbox0", "!="), ...m.masquerade()],
      comment: "tsbox:net",
    })
    .addRule({ ...T, chain: "prerouting", exprs: [...m.fibDaddrTypeLocal(), ...m.jump("TSBOX")] })
    .addRule({
      ...T,
      chain: "TSBOX",
      exprs: [...m.iifname("tsbox0", "!="), ...m.tcpDport(8080), ...m.dnat("10.88.0.2", 80)],
      comment: "tsbox:c1",
    })
    .addRule({
      ...T,
      chain: "forward",
      exprs: [...m.ctState("established", "related"), ...m.accept()],
    })
    .addRule({
      ...T,
      chain: "forward",
      exprs: [...m.iifname("tsbox0"), ...m.counter(), ...m.accept()],
    })
    .addRule({
      ...T,
      chain: "forward",
      exprs: [...m.ipDaddr("10.88.0.2"), ...m.tcpDport(80), ...m.accept()],
      comment: "tsbox:c1",
    })
    .commit(nf);

  const ruleset = (await h.run(["nft", "list", "ruleset"])).stdout;
  assert.match(
    ruleset,
    /ip saddr 10\.88\.0\.0\/24 oifname != "tsbox0" masquerade comment "tsbox:net"/,
  );
  assert.match(ruleset, /fib daddr type local jump TSBOX/);
  assert.match(
    ruleset,
    /iifname != "tsbox0" tcp dport 8080 dnat to 10\.88\.0\.2:80 comment "tsbox:c1"/,
  );
  assert.match(ruleset, /ct state established,related accept/);
  assert.match(ruleset, /type filter hook forward priority filter; policy drop;/);
  assert.deepEqual(listTables(nf).map((t) => [t.family, t.name]), [["ip", "tsbox"]]);

  // Port forwarding: x -> 10.99.0.1:8080 reaches c:80 with x's own address.
  const srv = await serveOnce(c, 80);
  assert.equal(await connect(x, "10.99.0.1", 8080), "10.99.0.2");
  await srv.output();
  // Masquerade: c -> x arrives from the router's uplink address.
  const srv2 = await serveOnce(x, 9000);
  assert.equal(await connect(c, "10.99.0.2", 9000), "10.99.0.1");
  await srv2.output();
  assert.ok(await ping(c, "10.99.0.2"));

  // conntrack in h shows both translations.
  const ct = dumpConntrack(nf);
  const dnatEntry = ct.find((e) => e.proto === "tcp" && e.orig.dport === 8080);
  assert.ok(dnatEntry, JSON.stringify(ct));
  assert.deepEqual([dnatEntry.orig.src, dnatEntry.orig.dst], ["10.99.0.2", "10.99.0.1"]);
  assert.deepEqual([dnatEntry.reply.src, dnatEntry.reply.sport, dnatEntry.reply.dst], [
    "10.88.0.2",
    80,
    "10.99.0.2",
  ]);
  assert.ok(dnatEntry.status.includes("DST_NAT"));
  const masqEntry = ct.find((e) => e.proto === "tcp" && e.orig.dport === 9000);
  assert.ok(masqEntry);
  assert.deepEqual([masqEntry.orig.src, masqEntry.reply.dst], ["10.88.0.2", "10.99.0.1"]);
  assert.ok(masqEntry.status.includes("SRC_NAT"));
  assert.ok(ct.some((e) => e.proto === "icmp" && e.orig.dst === "10.99.0.2"));

  // The rules tsbox made for c1 are found by comment and deleted by handle.
  const mine = listRules(nf, "ip", "tsbox").filter((r) => r.comment === "tsbox:c1");
  assert.deepEqual(mine.map((r) => r.chain).sort(), ["TSBOX", "forward"]);
  assert.ok(mine.every((r) => r.handle > 0));
  const batch = new NftBatch();
  for (const r of mine) batch.deleteRule("ip", "tsbox", r.chain, r.handle);
  batch.commit(nf);
  const after = (await h.run(["nft", "list", "ruleset"])).stdout;
  assert.doesNotMatch(after, /dnat to/);
  assert.match(after, /masquerade/);
  assert.deepEqual(listRules(nf, "ip", "tsbox", "TSBOX"), []);
  assert.equal(await connect(x, "10.99.0.1", 8080), undefined, "no forwarding after deletion");

  // A failing transaction changes nothing and names the message that failed.
  assert.throws(
    () =>
      new NftBatch().addChain({ ...T, name: "extra" }).addRule({
        ...T,
        chain: "missing",
        exprs: m.accept(),
      }).commit(nf),
    /netlink NFT_MSG_NEWRULE ip "tsbox" "missing" \[verdict\]: ENOENT/,
  );
  assert.doesNotMatch((await h.run(["nft", "list", "ruleset"])).stdout, /chain extra/);

  new NftBatch().deleteTable("ip", "tsbox").commit(nf);
  assert.doesNotMatch((await h.run(["nft", "list", "ruleset"])).stdout, /tsbox/);
  assert.throws(() => new NftBatch().deleteTable("ip", "tsbox").commit(nf), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.errno, Errno.ENOENT);
    return true;
  });
  new NftBatch().deleteTable("ip", "tsbox", { ifExists: true }).commit(nf);
});
