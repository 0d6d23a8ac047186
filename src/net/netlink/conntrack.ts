// The conntrack table over NETLINK_NETFILTER (nfnetlink subsystem
// NFNL_SUBSYS_CTNETLINK): a dump of IPCTNL_MSG_CT_GET decoded into original
// and reply tuples, so `tsbox network inspect` can show NAPT translations
// (orig 10.99.0.2:40000 -> 10.99.0.1:8080, reply 10.88.0.2:80 -> 10.99.0.2:40000),
// and IPCTNL_MSG_CT_DELETE of the entries of an address when its container
// goes (a UDP flow to a published port would otherwise keep its old DNAT).
// The table is per network namespace: open the socket in the one to inspect.
// Reading needs CAP_NET_ADMIN. See linux/netfilter/nfnetlink_conntrack.h,
// conntrack(8).
//
//   IPCTNL_MSG_CT_NEW   nfgenmsg { AF_INET, v0, 0 }
//     CTA_TUPLE_ORIG (nest)  CTA_TUPLE_IP { CTA_IP_V4_SRC, CTA_IP_V4_DST }
//                            CTA_TUPLE_PROTO { CTA_PROTO_NUM u8, CTA_PROTO_SRC_PORT be16, ... }
//     CTA_TUPLE_REPLY (nest) as ORIG
//     CTA_STATUS be32, CTA_TIMEOUT be32, CTA_MARK be32, CTA_ID be32, CTA_ZONE be16,
//     CTA_PROTOINFO { CTA_PROTOINFO_TCP { CTA_PROTOINFO_TCP_STATE u8 } }

import { AF_INET } from "../../../ffi/constants.ts";
import { Errno } from "../../../ffi/errno.ts";
import { formatIPv4, formatIPv6, parseIPv4 } from "./ip.ts";
import {
  attrMap,
  concat,
  nla,
  nlaNested,
  nlaU8,
  readU16be,
  readU32be,
  readU8,
  u16be,
} from "./message.ts";
import { nfgenmsg, NFNL_SUBSYS, nfnlType } from "./nfnetlink.ts";
import { NetlinkError, type NetlinkSocket } from "./socket.ts";

/** Conntrack message types (enum cntl_msg_types). */
export const IPCTNL_MSG = { CT_NEW: 0, CT_GET: 1, CT_DELETE: 2 } as const;

const CTA = {
  TUPLE_ORIG: 1,
  TUPLE_REPLY: 2,
  STATUS: 3,
  PROTOINFO: 4,
  TIMEOUT: 7,
  MARK: 8,
  ID: 12,
  ZONE: 18,
};
const CTA_TUPLE = { IP: 1, PROTO: 2 };
const CTA_IP = { V4_SRC: 1, V4_DST: 2, V6_SRC: 3, V6_DST: 4 };
const CTA_PROTO = { NUM: 1, SRC_PORT: 2, DST_PORT: 3, ICMP_ID: 4, ICMP_TYPE: 5, ICMP_CODE: 6 };
const CTA_PROTOINFO_TCP = 1;
const CTA_PROTOINFO_TCP_STATE = 1;

/** enum ip_conntrack_status bits, by name. */
export const CT_STATUS = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  SRC_NAT: 1 << 4,
  DST_NAT: 1 << 5,
  SEQ_ADJUST: 1 << 6,
  SRC_NAT_DONE: 1 << 7,
  DST_NAT_DONE: 1 << 8,
  DYING: 1 << 9,
  FIXED_TIMEOUT: 1 << 10,
  TEMPLATE: 1 << 11,
  UNTRACKED: 1 << 12,
  HELPER: 1 << 13,
  OFFLOAD: 1 << 14,
} as const;

/** enum tcp_conntrack, by number. */
const TCP_STATES = [
  "NONE",
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
];

const PROTOCOLS: Record<number, string> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  58: "icmpv6",
  132: "sctp",
};

/** One direction of a connection. */
export interface Tuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmpId?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** One conntrack entry. */
export interface ConntrackEntry {
  /** "tcp", "udp", "icmp", ... or the protocol number. */
  proto: string;
  /** The packet as first seen. */
  orig: Tuple;
  /** The reply as expected: with NAT, its addresses show the translation. */
  reply: Tuple;
  /** CT_STATUS names, e.g. ["SEEN_REPLY", "ASSURED", "CONFIRMED", "DST_NAT", ...]. */
  status: string[];
  /** Seconds until the entry expires. */
  timeout?: number;
  /** TCP state, e.g. "ESTABLISHED", "TIME_WAIT". */
  tcpState?: string;
  mark?: number;
  id?: number;
  zone?: number;
}

function decodeTuple(b: Uint8Array | undefined): { proto: number; tuple: Tuple } {
  const t = attrMap(b ?? new Uint8Array(0));
  const ip = attrMap(t.get(CTA_TUPLE.IP) ?? new Uint8Array(0));
  const p = attrMap(t.get(CTA_TUPLE.PROTO) ?? new Uint8Array(0));
  const addr = (v4: number, v6: number) => {
    const a4 = ip.get(v4), a6 = ip.get(v6);
    if (a4?.length === 4) return formatIPv4(a4);
    if (a6?.length === 16) return formatIPv6(a6);
    return "";
  };
  const tuple: Tuple = {
    src: addr(CTA_IP.V4_SRC, CTA_IP.V6_SRC),
    dst: addr(CTA_IP.V4_DST, CTA_IP.V6_DST),
  };
  const sport = readU16be(p.get(CTA_PROTO.SRC_PORT));
  if (sport !== undefined) tuple.sport = sport;
  const dport = readU16be(p.get(CTA_PROTO.DST_PORT));
  if (dport !== undefined) tuple.dport = dport;
  const icmpId = readU16be(p.get(CTA_PROTO.ICMP_ID));
  if (icmpId !== undefined) tuple.icmpId = icmpId;
  const icmpType = readU8(p.get(CTA_PROTO.ICMP_TYPE));
  if (icmpType !== undefined) tuple.icmpType = icmpType;
  const icmpCode = readU8(p.get(CTA_PROTO.ICMP_CODE));
  if (icmpCode !== undefined) tuple.icmpCode = icmpCode;
  return { proto: readU8(p.get(CTA_PROTO.NUM)) ?? 0, tuple };
}

/** Decodes the payload of an IPCTNL_MSG_CT_NEW message (nfgenmsg + CTA_* attributes). */
export function decodeConntrack(payload: Uint8Array): ConntrackEntry {
  const a = attrMap(payload.subarray(4));
  const orig = decodeTuple(a.get(CTA.TUPLE_ORIG));
  const reply = decodeTuple(a.get(CTA.TUPLE_REPLY));
  const bits = readU32be(a.get(CTA.STATUS)) ?? 0;
  const e: ConntrackEntry = {
    proto: PROTOCOLS[orig.proto] ?? String(orig.proto),
    orig: orig.tuple,
    reply: reply.tuple,
    status: Object.entries(CT_STATUS).filter(([, bit]) => (bits & bit) !== 0).map(([n]) => n),
  };
  const timeout = readU32be(a.get(CTA.TIMEOUT));
  if (timeout !== undefined) e.timeout = timeout;
  const mark = readU32be(a.get(CTA.MARK));
  if (mark !== undefined) e.mark = mark;
  const id = readU32be(a.get(CTA.ID));
  if (id !== undefined) e.id = id;
  const zone = readU16be(a.get(CTA.ZONE));
  if (zone !== undefined) e.zone = zone;
  const info = a.get(CTA.PROTOINFO);
  const tcp = info && attrMap(info).get(CTA_PROTOINFO_TCP);
  const state = tcp && readU8(attrMap(tcp).get(CTA_PROTOINFO_TCP_STATE));
  if (state !== undefined) e.tcpState = TCP_STATES[state] ?? String(state);
  return e;
}

/**
 * Dumps the IPv4 conntrack table of the socket's namespace (a
 * NETLINK_NETFILTER socket). Empty when nothing in the namespace uses
 * conntrack (no NAT or ct rule: the kernel then does not track).
 *
 * @example
 * using sock = NetlinkSocket.open(NETLINK_NETFILTER, { netns });
 * for (const c of dumpConntrack(sock)) console.log(c.proto, c.orig, c.reply);
 */
export function dumpConntrack(sock: NetlinkSocket): ConntrackEntry[] {
  const type = nfnlType(NFNL_SUBSYS.CTNETLINK, IPCTNL_MSG.CT_GET);
  return sock.dump({ type, payload: nfgenmsg(AF_INET), describe: "IPCTNL_MSG_CT_GET dump" })
    .filter((m) => m.type === nfnlType(NFNL_SUBSYS.CTNETLINK, IPCTNL_MSG.CT_NEW))
    .map((m) => decodeConntrack(m.payload));
}

/** Whether the entry was translated: "dnat", "snat", both, or neither. */
export function natKinds(e: ConntrackEntry): ("snat" | "dnat")[] {
  const out: ("snat" | "dnat")[] = [];
  if (e.status.includes("SRC_NAT")) out.push("snat");
  if (e.status.includes("DST_NAT")) out.push("dnat");
  return out;
}

/** The CTA_TUPLE_ORIG or _REPLY attribute of an IPv4 tuple: what CT_DELETE looks an entry up by. */
export function encodeTuple(type: number, proto: string, t: Tuple): Uint8Array {
  const num = Number(Object.entries(PROTOCOLS).find(([, n]) => n === proto)?.[0] ?? proto);
  const p = [nlaU8(CTA_PROTO.NUM, num)];
  if (t.sport !== undefined) p.push(nla(CTA_PROTO.SRC_PORT, u16be(t.sport)));
  if (t.dport !== undefined) p.push(nla(CTA_PROTO.DST_PORT, u16be(t.dport)));
  if (t.icmpId !== undefined) p.push(nla(CTA_PROTO.ICMP_ID, u16be(t.icmpId)));
  if (t.icmpType !== undefined) p.push(nlaU8(CTA_PROTO.ICMP_TYPE, t.icmpType));
  if (t.icmpCode !== undefined) p.push(nlaU8(CTA_PROTO.ICMP_CODE, t.icmpCode));
  return nlaNested(type, [
    nlaNested(CTA_TUPLE.IP, [
      nla(CTA_IP.V4_SRC, parseIPv4(t.src)),
      nla(CTA_IP.V4_DST, parseIPv4(t.dst)),
    ]),
    nlaNested(CTA_TUPLE.PROTO, p),
  ]);
}

/**
 * Deletes every IPv4 conntrack entry of the socket's namespace in which
 * `address` appears (as source or destination, before or after NAT).
 * Returns how many went; an entry that expired meanwhile is not an error.
 */
export function deleteConntrackOf(sock: NetlinkSocket, address: string): number {
  let n = 0;
  for (const e of dumpConntrack(sock)) {
    if (![e.orig.src, e.orig.dst, e.reply.src, e.reply.dst].includes(address)) continue;
    const zone = e.zone !== undefined ? [nla(CTA.ZONE, u16be(e.zone))] : [];
    try {
      sock.request({
        type: nfnlType(NFNL_SUBSYS.CTNETLINK, IPCTNL_MSG.CT_DELETE),
        payload: concat([nfgenmsg(AF_INET), encodeTuple(CTA.TUPLE_ORIG, e.proto, e.orig), ...zone]),
        describe: `IPCTNL_MSG_CT_DELETE ${e.proto} ${e.orig.src} -> ${e.orig.dst}`,
      });
      n++;
    } catch (err) {
      if (!(err instanceof NetlinkError && err.errno === Errno.ENOENT)) throw err;
    }
  }
  return n;
}
