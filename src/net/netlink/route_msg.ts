// rtnetlink (NETLINK_ROUTE) payloads as pure functions: struct ifinfomsg with
// IFLA_* attributes (links), struct ifaddrmsg with IFA_* (addresses), struct
// rtmsg with RTA_* (routes), and their decoders. route.ts sends them.
// See rtnetlink(7), linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h,
// linux/veth.h. All integers are host byte order; addresses network order.
//
//   struct ifinfomsg (16)          struct ifaddrmsg (8)     struct rtmsg (12)
//   0 u8  ifi_family               0 u8 ifa_family          0 u8 rtm_family   4 u8 rtm_table
//   1 u8  pad                      1 u8 ifa_prefixlen       1 u8 rtm_dst_len  5 u8 rtm_protocol
//   2 u16 ifi_type                 2 u8 ifa_flags           2 u8 rtm_src_len  6 u8 rtm_scope
//   4 i32 ifi_index                3 u8 ifa_scope           3 u8 rtm_tos      7 u8 rtm_type
//   8 u32 ifi_flags                4 u32 ifa_index                            8 u32 rtm_flags
//  12 u32 ifi_change

import { AF_INET } from "../../../ffi/constants.ts";
import { formatIPv4, formatMac } from "./ip.ts";
import {
  attrMap,
  concat,
  nla,
  nlaNested,
  nlaString,
  nlaU32,
  readString,
  readU32,
  readU8,
} from "./message.ts";

/** rtnetlink message types (linux/rtnetlink.h). */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
} as const;

/** Link attributes (enum in linux/if_link.h). */
export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  PROTINFO: 12,
  OPERSTATE: 16,
  LINKINFO: 18,
  NET_NS_PID: 19,
  NET_NS_FD: 28,
  EXT_MASK: 29,
  LINK_NETNSID: 37,
} as const;

/** IFLA_LINKINFO nested attributes. */
export const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;
/** IFLA_INFO_DATA of kind "veth" (linux/veth.h). */
export const VETH_INFO_PEER = 1;
/** IFLA_PROTINFO of a bridge port (linux/if_link.h). IFLA_BRPORT_MODE is the hairpin flag. */
export const IFLA_BRPORT = { STATE: 1, MODE: 4 } as const;
/** IFLA_EXT_MASK: leave statistics out of link dumps. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;
/** net_device flags (linux/if.h). */
export const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, RUNNING: 0x40, LOWER_UP: 0x10000 };
/** IFLA_OPERSTATE values (RFC 2863), by number. */
export const OPER_STATES = [
  "unknown",
  "notpresent",
  "down",
  "lowerlayerdown",
  "testing",
  "dormant",
  "up",
];

/** Address attributes (linux/if_addr.h). */
export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, FLAGS: 8 } as const;
/** Route attributes (linux/rtnetlink.h). */
export const RTA = { DST: 1, SRC: 2, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 };
/** Routing tables. */
export const RT_TABLE = { UNSPEC: 0, MAIN: 254, LOCAL: 255 } as const;
/** Route origins (rtm_protocol). */
export const RTPROT = { KERNEL: 2, BOOT: 3, STATIC: 4 } as const;
/** Route and address scopes. */
export const RT_SCOPE = { UNIVERSE: 0, LINK: 253, HOST: 254, NOWHERE: 255 } as const;
/** Route types (rtm_type). */
export const RTN = { UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3 } as const;
/** rtm_flags: the gateway is on the link even if no address says so. */
export const RTNH_F_ONLINK = 4;

// ---- links ------------------------------------------------------------------

/** The fixed part of a link message. */
export interface IfInfoMsg {
  family?: number;
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}

/** Encodes struct ifinfomsg. */
export function encodeIfInfoMsg(m: IfInfoMsg): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family ?? 0);
  v.setUint16(2, m.type ?? 0, true);
  v.setInt32(4, m.index ?? 0, true);
  v.setUint32(8, m.flags ?? 0, true);
  v.setUint32(12, m.change ?? 0, true);
  return b;
}

/** Link attributes a request may carry; encoded in this order. */
export interface LinkAttrs {
  name?: string;
  mac?: Uint8Array;
  mtu?: number;
  /** Bridge (or bond) to enslave to; 0 releases. */
  master?: number;
  netnsPid?: number;
  netnsFd?: number;
  /** IFLA_LINKINFO: the link kind and its IFLA_INFO_DATA attributes. */
  linkInfo?: { kind: string; data?: readonly Uint8Array[] };
  /** IFLA_PROTINFO (NLA_F_NESTED) attributes, for AF_BRIDGE port settings. */
  protinfo?: readonly Uint8Array[];
  extMask?: number;
}

/** Encodes link attributes (see LinkAttrs for the order). */
export function encodeLinkAttrs(a: LinkAttrs): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (a.name !== undefined) out.push(nlaString(IFLA.IFNAME, a.name));
  if (a.mac !== undefined) out.push(nla(IFLA.ADDRESS, a.mac));
  if (a.mtu !== undefined) out.push(nlaU32(IFLA.MTU, a.mtu));
  if (a.master !== undefined) out.push(nlaU32(IFLA.MASTER, a.master));
  if (a.netnsPid !== undefined) out.push(nlaU32(IFLA.NET_NS_PID, a.netnsPid));
  if (a.netnsFd !== undefined) out.push(nlaU32(IFLA.NET_NS_FD, a.netnsFd));
  if (a.linkInfo !== undefined) {
    const info = [nlaString(IFLA_INFO.KIND, a.linkInfo.kind)];
    if (a.linkInfo.data) info.push(nlaNested(IFLA_INFO.DATA, a.linkInfo.data));
    out.push(nlaNested(IFLA.LINKINFO, info));
  }
  if (a.protinfo !== undefined) out.push(nlaNested(IFLA.PROTINFO, a.protinfo));
  if (a.extMask !== undefined) out.push(nlaU32(IFLA.EXT_MASK, a.extMask));
  return out;
}

/** A whole link payload: ifinfomsg then attributes. */
export function linkPayload(h: IfInfoMsg, a: LinkAttrs): Uint8Array {
  return concat([encodeIfInfoMsg(h), ...encodeLinkAttrs(a)]);
}

/**
 * The IFLA_INFO_DATA attribute of a veth: VETH_INFO_PEER holds a struct
 * ifinfomsg followed by the peer's own link attributes (name, namespace, MAC).
 * It is not a plain nest (it starts with a struct), so NLA_F_NESTED is not set.
 */
export function vethPeerInfo(peer: LinkAttrs): Uint8Array {
  return nla(VETH_INFO_PEER, linkPayload({}, peer));
}

/** A network interface as the kernel reports it. */
export interface Link {
  index: number;
  name: string;
  /** IFF_* flags. */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** ARPHRD_* type (1 = Ethernet, 772 = loopback). */
  type: number;
  mtu?: number;
  /** "02:42:ac:11:00:02" for Ethernet links. */
  mac?: string;
  /** ifindex of the bridge this link is a port of. */
  master?: number;
  /** IFLA_INFO_KIND: "bridge", "veth", ...; absent for physical and loopback links. */
  kind?: string;
  /** RFC 2863 state: "up", "down", "lowerlayerdown", ... */
  operState?: string;
  /** IFLA_LINK: for a veth, its peer's ifindex (in the peer's namespace). */
  parent?: number;
}

/** Decodes an RTM_NEWLINK payload. */
export function decodeLink(payload: Uint8Array): Link {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const flags = v.getUint32(8, true);
  const attrs = attrMap(payload.subarray(16));
  const link: Link = {
    index: v.getInt32(4, true),
    name: readString(attrs.get(IFLA.IFNAME)) ?? "",
    flags,
    up: (flags & IFF.UP) !== 0,
    type: v.getUint16(2, true),
  };
  const mtu = readU32(attrs.get(IFLA.MTU));
  if (mtu !== undefined) link.mtu = mtu;
  const mac = attrs.get(IFLA.ADDRESS);
  if (mac && mac.length > 0) link.mac = formatMac(mac);
  const master = readU32(attrs.get(IFLA.MASTER));
  if (master !== undefined) link.master = master;
  const info = attrs.get(IFLA.LINKINFO);
  const kind = info && readString(attrMap(info).get(IFLA_INFO.KIND));
  if (kind) link.kind = kind;
  const oper = readU8(attrs.get(IFLA.OPERSTATE));
  if (oper !== undefined) link.operState = OPER_STATES[oper] ?? `${oper}`;
  const parent = readU32(attrs.get(IFLA.LINK));
  if (parent !== undefined) link.parent = parent;
  return link;
}

// ---- addresses ----------------------------------------------------------------

/** Fields of an IPv4 address request. */
export interface AddrMsg {
  index: number;
  /** 4 bytes, network order. */
  address: Uint8Array;
  prefixLen: number;
  /** 4 bytes; omitted when undefined. */
  broadcast?: Uint8Array;
}

/** Encodes struct ifaddrmsg + IFA_LOCAL, IFA_ADDRESS (the same address), IFA_BROADCAST. */
export function addrPayload(m: AddrMsg): Uint8Array {
  const h = new Uint8Array(8);
  const v = new DataView(h.buffer);
  v.setUint8(0, AF_INET);
  v.setUint8(1, m.prefixLen);
  v.setUint32(4, m.index, true);
  const parts = [h, nla(IFA.LOCAL, m.address), nla(IFA.ADDRESS, m.address)];
  if (m.broadcast) parts.push(nla(IFA.BROADCAST, m.broadcast));
  return concat(parts);
}

/** The header of an RTM_GETADDR dump for IPv4. */
export function addrDumpPayload(): Uint8Array {
  return Uint8Array.of(AF_INET, 0, 0, 0, 0, 0, 0, 0);
}

/** An IPv4 address on a link. */
export interface Address {
  index: number;
  /** "172.17.0.2" */
  address: string;
  prefixLen: number;
  /** "172.17.0.2/16" */
  cidr: string;
  broadcast?: string;
  /** IFA_LABEL, e.g. "eth0". */
  label?: string;
  scope: number;
}

/** Decodes an RTM_NEWADDR payload; undefined unless it is IPv4. */
export function decodeAddress(payload: Uint8Array): Address | undefined {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (v.getUint8(0) !== AF_INET) return undefined;
  const attrs = attrMap(payload.subarray(8));
  const local = attrs.get(IFA.LOCAL) ?? attrs.get(IFA.ADDRESS);
  if (!local || local.length !== 4) return undefined;
  const prefixLen = v.getUint8(1);
  const address = formatIPv4(local);
  const a: Address = {
    index: v.getUint32(4, true),
    address,
    prefixLen,
    cidr: `${address}/${prefixLen}`,
    scope: v.getUint8(3),
  };
  const brd = attrs.get(IFA.BROADCAST);
  if (brd?.length === 4) a.broadcast = formatIPv4(brd);
  const label = readString(attrs.get(IFA.LABEL));
  if (label) a.label = label;
  return a;
}

// ---- routes -------------------------------------------------------------------

/** Fields of an IPv4 route request. */
export interface RouteMsg {
  /** Destination network (4 bytes) and prefix length; prefix 0 is the default route. */
  dst: Uint8Array;
  dstLen: number;
  gateway?: Uint8Array;
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags?: number;
  prefsrc?: Uint8Array;
  priority?: number;
}

/** Encodes struct rtmsg + RTA_TABLE, RTA_DST (unless default), RTA_GATEWAY, RTA_OIF, ... */
export function routePayload(m: RouteMsg): Uint8Array {
  const h = new Uint8Array(12);
  const v = new DataView(h.buffer);
  v.setUint8(0, AF_INET);
  v.setUint8(1, m.dstLen);
  v.setUint8(4, m.table < 256 ? m.table : RT_TABLE.UNSPEC);
  v.setUint8(5, m.protocol);
  v.setUint8(6, m.scope);
  v.setUint8(7, m.type);
  v.setUint32(8, m.flags ?? 0, true);
  const parts = [h, nlaU32(RTA.TABLE, m.table)];
  if (m.dstLen > 0) parts.push(nla(RTA.DST, m.dst));
  if (m.gateway) parts.push(nla(RTA.GATEWAY, m.gateway));
  if (m.oif !== undefined) parts.push(nlaU32(RTA.OIF, m.oif));
  if (m.prefsrc) parts.push(nla(RTA.PREFSRC, m.prefsrc));
  if (m.priority !== undefined) parts.push(nlaU32(RTA.PRIORITY, m.priority));
  return concat(parts);
}

/** The header of an RTM_GETROUTE dump for IPv4. */
export function routeDumpPayload(): Uint8Array {
  const h = new Uint8Array(12);
  h[0] = AF_INET;
  return h;
}

/** An IPv4 route as the kernel reports it. */
export interface Route {
  /** "default" or "10.88.0.0/24". */
  dst: string;
  dstLen: number;
  gateway?: string;
  /** Output link ifindex. */
  oif?: number;
  prefsrc?: string;
  priority?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

/** Decodes an RTM_NEWROUTE payload; undefined unless it is IPv4. */
export function decodeRoute(payload: Uint8Array): Route | undefined {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (v.getUint8(0) !== AF_INET) return undefined;
  const attrs = attrMap(payload.subarray(12));
  const dstLen = v.getUint8(1);
  const dst = attrs.get(RTA.DST);
  const r: Route = {
    dst: dstLen === 0 ? "default" : `${dst?.length === 4 ? formatIPv4(dst) : "?"}/${dstLen}`,
    dstLen,
    table: readU32(attrs.get(RTA.TABLE)) ?? v.getUint8(4),
    protocol: v.getUint8(5),
    scope: v.getUint8(6),
    type: v.getUint8(7),
    flags: v.getUint32(8, true),
  };
  const gw = attrs.get(RTA.GATEWAY);
  if (gw?.length === 4) r.gateway = formatIPv4(gw);
  const oif = readU32(attrs.get(RTA.OIF));
  if (oif !== undefined) r.oif = oif;
  const src = attrs.get(RTA.PREFSRC);
  if (src?.length === 4) r.prefsrc = formatIPv4(src);
  const prio = readU32(attrs.get(RTA.PRIORITY));
  if (prio !== undefined) r.priority = prio;
  return r;
}
