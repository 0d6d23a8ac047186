// rtnetlink operations over a NETLINK_ROUTE socket: links (bridge, veth,
// up/down, master, rename, MAC, MTU, namespace moves, delete, bridge-port
// hairpin), IPv4 addresses and IPv4 routes. Each function is one or two
// requests; the bytes come from route_msg.ts. They act in the namespace the
// socket was opened in (NetlinkSocket.open(NETLINK_ROUTE, { netns })).
// All changes need CAP_NET_ADMIN in that namespace. See rtnetlink(7), ip-link(8).

import { AF_BRIDGE } from "../../../ffi/constants.ts";
import { Errno } from "../../../ffi/errno.ts";
import { UsageError } from "../../errors.ts";
import { broadcastOf, networkOf, parseCidr, parseIPv4, parseMac } from "./ip.ts";
import { nlaU8, NLM_F } from "./message.ts";
import {
  addrDumpPayload,
  type Address,
  addrPayload,
  decodeAddress,
  decodeLink,
  decodeRoute,
  IFF,
  type IfInfoMsg,
  IFLA_BRPORT,
  type Link,
  type LinkAttrs,
  linkPayload,
  type Route,
  routeDumpPayload,
  routePayload,
  RT_SCOPE,
  RT_TABLE,
  RTEXT_FILTER_SKIP_STATS,
  RTM,
  RTN,
  RTNH_F_ONLINK,
  RTPROT,
  vethPeerInfo,
} from "./route_msg.ts";
import { NetlinkError, type NetlinkSocket, type Request } from "./socket.ts";

export type { Address, Link, Route };

/** A link by name ("veth1") or ifindex. */
export type LinkRef = string | number;

const IFNAMSIZ = 16;

/** Throws UsageError unless `name` is a valid interface name (1-15 bytes, no "/", ":" or space). */
export function checkIfname(name: string): void {
  const len = new TextEncoder().encode(name).length;
  if (len === 0 || len >= IFNAMSIZ || /[\s/:]/.test(name) || name === "." || name === "..") {
    throw new UsageError(
      `invalid interface name ${JSON.stringify(name)}: 1 to ${
        IFNAMSIZ - 1
      } bytes, no "/", ":" or spaces`,
    );
  }
}

function refDesc(ref: LinkRef): string {
  return typeof ref === "number" ? `ifindex ${ref}` : JSON.stringify(ref);
}

/** The ifinfomsg and attributes that name `ref` in a request. */
function byRef(ref: LinkRef): { h: IfInfoMsg; a: LinkAttrs } {
  if (typeof ref === "number") return { h: { index: ref }, a: {} };
  checkIfname(ref);
  return { h: {}, a: { name: ref } };
}

/** Every link of the socket's namespace. */
export function listLinks(sock: NetlinkSocket): Link[] {
  const payload = linkPayload({}, { extMask: RTEXT_FILTER_SKIP_STATS });
  return sock.dump({ type: RTM.GETLINK, payload, describe: "RTM_GETLINK dump" })
    .filter((m) => m.type === RTM.NEWLINK)
    .map((m) => decodeLink(m.payload));
}

/**
 * One link by name or index, or undefined if there is none (ENODEV).
 * @example getLink(sock, "eth0")?.mac
 */
export function getLink(sock: NetlinkSocket, ref: LinkRef): Link | undefined {
  const { h, a } = byRef(ref);
  try {
    const replies = sock.request({
      type: RTM.GETLINK,
      payload: linkPayload(h, { ...a, extMask: RTEXT_FILTER_SKIP_STATS }),
      describe: `RTM_GETLINK ${refDesc(ref)}`,
    });
    const m = replies.find((r) => r.type === RTM.NEWLINK);
    return m && decodeLink(m.payload);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return undefined;
    throw e;
  }
}

/** The ifindex of `ref`; throws NetlinkError (ENODEV) if there is no such link. */
export function linkIndex(sock: NetlinkSocket, ref: LinkRef): number {
  if (typeof ref === "number") return ref;
  const link = getLink(sock, ref);
  if (!link) throw new NetlinkError(Errno.ENODEV, `RTM_GETLINK ${refDesc(ref)}`);
  return link.index;
}

function setLink(sock: NetlinkSocket, ref: LinkRef, h: IfInfoMsg, a: LinkAttrs, what: string) {
  const r = byRef(ref);
  sock.request({
    type: RTM.SETLINK,
    payload: linkPayload({ ...r.h, ...h }, { ...r.a, ...a }),
    describe: `RTM_SETLINK ${refDesc(ref)}${what ? ` ${what}` : ""}`,
  });
}

/** Options of `createBridge`. */
export interface BridgeOptions {
  name: string;
  mtu?: number;
  mac?: string;
}

/**
 * Creates a bridge (`ip link add NAME type bridge`), down. EEXIST if the name is taken.
 * @example createBridge(sock, { name: "tsbox0", mtu: 1500 })
 */
export function createBridge(sock: NetlinkSocket, opts: BridgeOptions): void {
  checkIfname(opts.name);
  const a: LinkAttrs = { name: opts.name, linkInfo: { kind: "bridge" } };
  if (opts.mtu !== undefined) a.mtu = opts.mtu;
  if (opts.mac !== undefined) a.mac = parseMac(opts.mac);
  sock.request({
    type: RTM.NEWLINK,
    flags: NLM_F.CREATE | NLM_F.EXCL,
    payload: linkPayload({}, a),
    describe: `RTM_NEWLINK ${JSON.stringify(opts.name)} type bridge`,
  });
}

/** Options of `createVeth`. */
export interface VethOptions {
  /** This end's name, in the socket's namespace. */
  name: string;
  /** The other end's name. */
  peerName: string;
  /** A network namespace fd to create the peer in directly (else it stays here). */
  peerNetnsFd?: number;
  mac?: string;
  peerMac?: string;
  /** MTU of both ends. */
  mtu?: number;
  /** Bridge ifindex to make this end a port of, at creation (IFLA_MASTER). */
  master?: number;
  /**
   * Bring this end up at creation (IFF_UP in its ifinfomsg, as `ip link add
   * NAME up ...`). The peer cannot be: the kernel configures it before the
   * pair is linked, and veth_open then fails with ENOTCONN.
   */
  up?: boolean;
}

/**
 * Creates a veth pair, both ends down (this end up with `up`); the peer goes
 * straight into `peerNetnsFd` when given (IFLA_NET_NS_FD inside
 * VETH_INFO_PEER), so it never appears in this namespace. Returns this end
 * as the kernel echoes it (NLM_F_ECHO, Linux 6.3+): its `index`, and in
 * `parent` the peer's ifindex in the peer's namespace; undefined on older
 * kernels.
 *
 * @example createVeth(sock, { name: "veth1a2b3c", peerName: "eth0", peerNetnsFd: fd })
 */
export function createVeth(sock: NetlinkSocket, opts: VethOptions): Link | undefined {
  checkIfname(opts.name);
  checkIfname(opts.peerName);
  const peer: LinkAttrs = { name: opts.peerName };
  if (opts.peerMac !== undefined) peer.mac = parseMac(opts.peerMac);
  if (opts.mtu !== undefined) peer.mtu = opts.mtu;
  if (opts.peerNetnsFd !== undefined) peer.netnsFd = opts.peerNetnsFd;
  const a: LinkAttrs = { name: opts.name };
  if (opts.mac !== undefined) a.mac = parseMac(opts.mac);
  if (opts.mtu !== undefined) a.mtu = opts.mtu;
  if (opts.master !== undefined) a.master = opts.master;
  const h: IfInfoMsg = opts.up ? { flags: IFF.UP, change: IFF.UP } : {};
  a.linkInfo = { kind: "veth", data: [vethPeerInfo(peer)] };
  const replies = sock.request({
    type: RTM.NEWLINK,
    flags: NLM_F.CREATE | NLM_F.EXCL | NLM_F.ECHO,
    payload: linkPayload(h, a),
    describe: `RTM_NEWLINK ${JSON.stringify(opts.name)} type veth peer ${
      JSON.stringify(opts.peerName)
    }`,
  });
  const echoed = replies.find((m) => m.type === RTM.NEWLINK);
  return echoed && decodeLink(echoed.payload);
}

/** Sets a link administratively up (`ip link set NAME up`). */
export function setLinkUp(sock: NetlinkSocket, ref: LinkRef): void {
  setLink(sock, ref, { flags: IFF.UP, change: IFF.UP }, {}, "up");
}

/** Sets a link administratively down. */
export function setLinkDown(sock: NetlinkSocket, ref: LinkRef): void {
  setLink(sock, ref, { flags: 0, change: IFF.UP }, {}, "down");
}

/** Makes `ref` a port of bridge `master` (`ip link set NAME master BR`), or frees it with null. */
export function setLinkMaster(sock: NetlinkSocket, ref: LinkRef, master: LinkRef | null): void {
  const index = master === null ? 0 : linkIndex(sock, master);
  const what = master === null ? "nomaster" : `master ${refDesc(master)}`;
  setLink(sock, ref, {}, { master: index }, what);
}

/** Renames a link (it must be down: EBUSY otherwise). */
export function renameLink(sock: NetlinkSocket, ref: LinkRef, newName: string): void {
  checkIfname(newName);
  const index = linkIndex(sock, ref);
  sock.request({
    type: RTM.SETLINK,
    payload: linkPayload({ index }, { name: newName }),
    describe: `RTM_SETLINK ${refDesc(ref)} name ${JSON.stringify(newName)}`,
  });
}

/** Sets a link's MAC address ("02:42:ac:11:00:02"). */
export function setLinkMac(sock: NetlinkSocket, ref: LinkRef, mac: string): void {
  setLink(sock, ref, {}, { mac: parseMac(mac) }, `address ${mac}`);
}

/** Sets a link's MTU. */
export function setLinkMtu(sock: NetlinkSocket, ref: LinkRef, mtu: number): void {
  setLink(sock, ref, {}, { mtu }, `mtu ${mtu}`);
}

/** Where to move a link: the network namespace of a process, or a namespace fd. */
export type NetnsTarget = { pid: number } | { fd: number };

/** Moves a link into another network namespace (`ip link set NAME netns PID`). */
export function moveLinkToNetns(sock: NetlinkSocket, ref: LinkRef, target: NetnsTarget): void {
  if ("pid" in target) setLink(sock, ref, {}, { netnsPid: target.pid }, `netns pid ${target.pid}`);
  else setLink(sock, ref, {}, { netnsFd: target.fd }, `netns fd ${target.fd}`);
}

/** Deletes a link (a veth takes its peer with it). ENODEV if there is none. */
export function deleteLink(sock: NetlinkSocket, ref: LinkRef): void {
  const { h, a } = byRef(ref);
  sock.request({
    type: RTM.DELLINK,
    payload: linkPayload(h, a),
    describe: `RTM_DELLINK ${refDesc(ref)}`,
  });
}

/**
 * Turns hairpin mode of a bridge port on or off (`bridge link set dev PORT
 * hairpin on`): the bridge may then send a frame back out of the port it came
 * in on, which hairpin NAT (a container reaching its own published port) needs.
 * An AF_BRIDGE RTM_SETLINK with IFLA_PROTINFO|NLA_F_NESTED { IFLA_BRPORT_MODE u8 }.
 */
export function setBridgePortHairpin(sock: NetlinkSocket, port: LinkRef, on: boolean): void {
  const index = linkIndex(sock, port);
  sock.request({
    type: RTM.SETLINK,
    payload: linkPayload({ family: AF_BRIDGE, index }, {
      protinfo: [nlaU8(IFLA_BRPORT.MODE, on ? 1 : 0)],
    }),
    describe: `RTM_SETLINK ${refDesc(port)} bridge hairpin ${on ? "on" : "off"}`,
  });
}

// ---- addresses ----------------------------------------------------------------

function addrMessage(
  sock: NetlinkSocket,
  type: number,
  flags: number,
  link: LinkRef,
  cidr: string,
): Request {
  const c = parseCidr(cidr);
  const index = linkIndex(sock, link);
  const broadcast = c.prefixLen < 31 ? broadcastOf(c) : undefined;
  return {
    type,
    flags,
    payload: addrPayload({
      index,
      address: c.address,
      prefixLen: c.prefixLen,
      ...(broadcast ? { broadcast } : {}),
    }),
    describe: `${type === RTM.NEWADDR ? "RTM_NEWADDR" : "RTM_DELADDR"} ${cidr} dev ${
      refDesc(link)
    }`,
  };
}

function addrRequest(
  sock: NetlinkSocket,
  type: number,
  flags: number,
  link: LinkRef,
  cidr: string,
) {
  sock.request(addrMessage(sock, type, flags, link, cidr));
}

/**
 * Adds an IPv4 address with its broadcast (`ip addr add CIDR brd + dev LINK`).
 * EEXIST if the link already has it.
 * @example addAddress(sock, "eth0", "172.17.0.2/16")
 */
export function addAddress(sock: NetlinkSocket, link: LinkRef, cidr: string): void {
  addrRequest(sock, RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, link, cidr);
}

/** Deletes an IPv4 address from a link. EADDRNOTAVAIL if it has no such address. */
export function deleteAddress(sock: NetlinkSocket, link: LinkRef, cidr: string): void {
  addrRequest(sock, RTM.DELADDR, 0, link, cidr);
}

/** The IPv4 addresses of the namespace, or of one link. */
export function listAddresses(sock: NetlinkSocket, link?: LinkRef): Address[] {
  const index = link === undefined ? undefined : linkIndex(sock, link);
  return sock.dump({ type: RTM.GETADDR, payload: addrDumpPayload(), describe: "RTM_GETADDR dump" })
    .filter((m) => m.type === RTM.NEWADDR)
    .map((m) => decodeAddress(m.payload))
    .filter((a): a is Address => a !== undefined && (index === undefined || a.index === index));
}

// ---- routes -------------------------------------------------------------------

/** An IPv4 route to add or delete. */
export interface RouteSpec {
  /** "10.88.0.0/24", or "default" / "0.0.0.0/0". */
  dst: string;
  /** Next hop; without it the route is on-link (scope link) and needs `link`. */
  gateway?: string;
  /** Output link. */
  link?: LinkRef;
  /** The gateway is reachable on `link` even if no address's subnet covers it. */
  onlink?: boolean;
  /** Routing table (default: main, 254). */
  table?: number;
  /** Preferred source address. */
  src?: string;
  /** Metric. */
  metric?: number;
}

function routeMessage(
  sock: NetlinkSocket,
  type: number,
  flags: number,
  spec: RouteSpec,
): Request {
  const c = spec.dst === "default"
    ? { address: new Uint8Array(4), prefixLen: 0 }
    : parseCidr(spec.dst);
  if (spec.gateway === undefined && spec.link === undefined) {
    throw new UsageError(`route ${spec.dst}: needs a gateway or a link`);
  }
  const adding = type === RTM.NEWROUTE;
  const m: Parameters<typeof routePayload>[0] = {
    dst: networkOf(c),
    dstLen: c.prefixLen,
    table: spec.table ?? RT_TABLE.MAIN,
    protocol: adding ? RTPROT.BOOT : 0,
    // On delete, scope NOWHERE matches a route of any scope (as ip-route does).
    scope: !adding ? RT_SCOPE.NOWHERE : spec.gateway ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK,
    type: adding ? RTN.UNICAST : RTN.UNSPEC,
    flags: spec.onlink ? RTNH_F_ONLINK : 0,
  };
  if (spec.gateway !== undefined) m.gateway = parseIPv4(spec.gateway);
  if (spec.link !== undefined) m.oif = linkIndex(sock, spec.link);
  if (spec.src !== undefined) m.prefsrc = parseIPv4(spec.src);
  if (spec.metric !== undefined) m.priority = spec.metric;
  const via = spec.gateway ? ` via ${spec.gateway}` : "";
  const dev = spec.link !== undefined ? ` dev ${refDesc(spec.link)}` : "";
  return {
    type,
    flags,
    payload: routePayload(m),
    describe: `${adding ? "RTM_NEWROUTE" : "RTM_DELROUTE"} ${spec.dst}${via}${dev}`,
  };
}

function routeRequest(sock: NetlinkSocket, type: number, flags: number, spec: RouteSpec) {
  sock.request(routeMessage(sock, type, flags, spec));
}

/**
 * Adds an IPv4 route (`ip route add DST [via GW] [dev LINK]`). EEXIST if it exists.
 * @example addRoute(sock, { dst: "10.88.0.0/24", link: "br0" })
 */
export function addRoute(sock: NetlinkSocket, spec: RouteSpec): void {
  routeRequest(sock, RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, spec);
}

/** Adds the default route via `gateway` (`ip route add default via GW`). */
export function addDefaultRoute(
  sock: NetlinkSocket,
  gateway: string,
  opts: { link?: LinkRef; table?: number } = {},
): void {
  addRoute(sock, { dst: "default", gateway, ...opts });
}

/** Deletes an IPv4 route. ESRCH if there is no such route. */
export function deleteRoute(sock: NetlinkSocket, spec: RouteSpec): void {
  routeRequest(sock, RTM.DELROUTE, 0, spec);
}

/** The IPv4 routes of one table (default: main). */
export function listRoutes(sock: NetlinkSocket, opts: { table?: number } = {}): Route[] {
  const table = opts.table ?? RT_TABLE.MAIN;
  return sock.dump({
    type: RTM.GETROUTE,
    payload: routeDumpPayload(),
    describe: "RTM_GETROUTE dump",
  })
    .filter((m) => m.type === RTM.NEWROUTE)
    .map((m) => decodeRoute(m.payload))
    .filter((r): r is Route => r !== undefined && r.table === table);
}

/** What `configureLink` sets on one link. */
export interface LinkConfig {
  /** Bring the link up. */
  up?: boolean;
  /** An IPv4 address to add, "172.17.0.2/16". */
  address?: string;
  /** A default route via this gateway, added after the address. */
  gateway?: string;
}

/**
 * Brings a link up, adds an address and a default route, as three requests
 * in one sendto (rtnetlink handles them in order; each is answered). The
 * first failure is thrown. Like `ip link set up; ip addr add; ip route add
 * default via`, in one round trip.
 *
 * @example configureLink(sock, 2, { up: true, address: "172.17.0.2/16", gateway: "172.17.0.1" })
 */
export function configureLink(sock: NetlinkSocket, index: number, cfg: LinkConfig): void {
  const reqs: Request[] = [];
  if (cfg.up) {
    reqs.push({
      type: RTM.SETLINK,
      payload: linkPayload({ index, flags: IFF.UP, change: IFF.UP }, {}),
      describe: `RTM_SETLINK ifindex ${index} up`,
    });
  }
  const create = NLM_F.CREATE | NLM_F.EXCL;
  if (cfg.address !== undefined) {
    reqs.push(addrMessage(sock, RTM.NEWADDR, create, index, cfg.address));
  }
  if (cfg.gateway !== undefined) {
    reqs.push(routeMessage(sock, RTM.NEWROUTE, create, { dst: "default", gateway: cfg.gateway }));
  }
  sock.transact(reqs.map((r) => ({ ...r, flags: (r.flags ?? 0) | NLM_F.ACK })));
}
