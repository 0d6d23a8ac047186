// Building blocks of nftables rules, named after the nft(8) terms they
// produce: `iifname`, `ip saddr`, `tcp dport`, `ct state`, `fib daddr type
// local`, `masquerade`, `dnat to`, verdicts. Each returns the expression list
// (nft_expr.ts) that nft itself generates for the term, so `nft list ruleset`
// prints the rule back in the same words. Pure functions.
// See nft(8) and `nft --debug=netlink add rule ...`.

import { AF_INET } from "../../../ffi/constants.ts";
import { parseCidr, parseIPv4, prefixMask } from "./ip.ts";
import { u16be, u32 } from "./message.ts";
import {
  type CmpOp,
  CT_KEY,
  type Expr,
  FIB_FLAG,
  FIB_RESULT,
  META,
  NAT_RANGE,
  NFT_REG,
  PAYLOAD_BASE,
} from "./nft_expr.ts";

/** Families of nftables tables, by nft(8) name, with their NFPROTO_* numbers. */
export const NFPROTO = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;
/** A table family. */
export type TableFamily = keyof typeof NFPROTO;

const IFNAMSIZ = 16;
const IPPROTO = { tcp: 6, udp: 17, sctp: 132 } as const;
/** Conntrack states, as bits of `ct state` (NF_CT_STATE_BIT). */
export const CT_STATE = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;
/** Conntrack status bits for `ct status` (enum ip_conntrack_status). */
export const CT_STATUS_BIT = {
  expected: 1,
  seen_reply: 2,
  assured: 4,
  confirmed: 8,
  snat: 16,
  dnat: 32,
} as const;
/** RTN_LOCAL: `fib daddr type local`. */
const RTN_LOCAL = 2;

const R1 = NFT_REG.R1;
const R2 = NFT_REG.R2;

function cmp(op: CmpOp, data: Uint8Array, sreg: number = R1): Expr {
  return { kind: "cmp", sreg, op, data };
}

/** A name padded to IFNAMSIZ, or its bytes without NUL for a "prefix*" wildcard. */
function ifnameBytes(name: string): Uint8Array {
  const wildcard = name.endsWith("*");
  const bytes = new TextEncoder().encode(wildcard ? name.slice(0, -1) : name);
  if (bytes.length >= IFNAMSIZ) {
    throw new TypeError(`interface name too long: ${JSON.stringify(name)}`);
  }
  if (wildcard) return bytes;
  const out = new Uint8Array(IFNAMSIZ);
  out.set(bytes);
  return out;
}

/**
 * `iifname "br0"` / `iifname != "br0"`; "veth*" matches a prefix.
 * @example iifname("tsbox0", "!=")
 */
export function iifname(name: string, op: "==" | "!=" = "=="): Expr[] {
  return [{ kind: "meta", key: META.iifname, dreg: R1 }, cmp(op, ifnameBytes(name))];
}

/** `oifname "br0"` / `oifname != "br0"`. */
export function oifname(name: string, op: "==" | "!=" = "=="): Expr[] {
  return [{ kind: "meta", key: META.oifname, dreg: R1 }, cmp(op, ifnameBytes(name))];
}

/** `meta nfproto ipv4`: in an inet table, what precedes a match on IPv4 header fields. */
export function nfprotoIPv4(): Expr[] {
  return [{ kind: "meta", key: META.nfproto, dreg: R1 }, cmp("==", Uint8Array.of(NFPROTO.ip))];
}

function ipField(offset: number, cidr: string, op: "==" | "!=", family: TableFamily): Expr[] {
  const c = parseCidr(cidr);
  const out: Expr[] = family === "inet" ? nfprotoIPv4() : [];
  out.push({ kind: "payload", base: PAYLOAD_BASE.network, offset, len: 4, dreg: R1 });
  if (c.prefixLen < 32) {
    const mask = prefixMask(c.prefixLen);
    out.push({ kind: "bitwise", sreg: R1, dreg: R1, mask, xor: new Uint8Array(4) });
    out.push(cmp(op, c.address.map((b, i) => b & mask[i]!)));
  } else {
    out.push(cmp(op, c.address));
  }
  return out;
}

/**
 * `ip saddr 172.17.0.0/16` (a /32 or a bare address compares exactly; a
 * shorter prefix masks with bitwise first). In an inet table pass "inet": the
 * match is then preceded by `meta nfproto ipv4`.
 */
export function ipSaddr(cidr: string, op: "==" | "!=" = "==", family: TableFamily = "ip"): Expr[] {
  return ipField(12, cidr, op, family);
}

/** `ip daddr 172.17.0.2` or a prefix; see ipSaddr. */
export function ipDaddr(cidr: string, op: "==" | "!=" = "==", family: TableFamily = "ip"): Expr[] {
  return ipField(16, cidr, op, family);
}

/** `meta l4proto tcp`. */
export function l4proto(proto: keyof typeof IPPROTO): Expr[] {
  return [{ kind: "meta", key: META.l4proto, dreg: R1 }, cmp("==", Uint8Array.of(IPPROTO[proto]))];
}

function port(proto: keyof typeof IPPROTO, offset: number, p: number, op: CmpOp): Expr[] {
  checkPort(p);
  return [
    ...l4proto(proto),
    { kind: "payload", base: PAYLOAD_BASE.transport, offset, len: 2, dreg: R1 },
    cmp(op, u16be(p)),
  ];
}

function checkPort(p: number): void {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`invalid port ${p}`);
}

/** `tcp dport 8080`. */
export function tcpDport(p: number, op: CmpOp = "=="): Expr[] {
  return port("tcp", 2, p, op);
}

/** `tcp sport 80`. */
export function tcpSport(p: number, op: CmpOp = "=="): Expr[] {
  return port("tcp", 0, p, op);
}

/** `udp dport 53`. */
export function udpDport(p: number, op: CmpOp = "=="): Expr[] {
  return port("udp", 2, p, op);
}

/** `sctp dport 9999` (the SCTP common header has its ports where TCP and UDP have them). */
export function sctpDport(p: number, op: CmpOp = "=="): Expr[] {
  return port("sctp", 2, p, op);
}

/** `udp sport 53`. */
export function udpSport(p: number, op: CmpOp = "=="): Expr[] {
  return port("udp", 0, p, op);
}

/**
 * `ct state established,related`: ct state & mask != 0.
 * @example ctState("established", "related")
 */
export function ctState(...states: (keyof typeof CT_STATE)[]): Expr[] {
  const mask = states.reduce((m, s) => m | CT_STATE[s], 0);
  return [
    { kind: "ct", key: CT_KEY.state, dreg: R1 },
    { kind: "bitwise", sreg: R1, dreg: R1, mask: u32(mask), xor: new Uint8Array(4) },
    cmp("!=", new Uint8Array(4)),
  ];
}

/**
 * `ct status dnat`: ct status & mask != 0. A connection whose destination
 * was translated (a published port) has the dnat bit from its first packet on.
 * @example ctStatus("dnat")
 */
export function ctStatus(...bits: (keyof typeof CT_STATUS_BIT)[]): Expr[] {
  const mask = bits.reduce((m, s) => m | CT_STATUS_BIT[s], 0);
  return [
    { kind: "ct", key: CT_KEY.status, dreg: R1 },
    { kind: "bitwise", sreg: R1, dreg: R1, mask: u32(mask), xor: new Uint8Array(4) },
    cmp("!=", new Uint8Array(4)),
  ];
}

/**
 * `ct status ! dnat` (nft's words for `ct status & dnat == 0`): none of the
 * bits is set; with "dnat", a packet whose destination was not translated.
 * Not nft's `ct status != dnat`, which compares the whole status with the
 * bit and is true for almost every connection.
 * @example ctStatusNot("dnat")
 */
export function ctStatusNot(...bits: (keyof typeof CT_STATUS_BIT)[]): Expr[] {
  const mask = bits.reduce((m, s) => m | CT_STATUS_BIT[s], 0);
  return [
    { kind: "ct", key: CT_KEY.status, dreg: R1 },
    { kind: "bitwise", sreg: R1, dreg: R1, mask: u32(mask), xor: new Uint8Array(4) },
    cmp("==", new Uint8Array(4)),
  ];
}

/**
 * `fib daddr type local`: the destination is an address of this namespace
 * (Docker's DNAT condition for published ports).
 */
export function fibDaddrTypeLocal(): Expr[] {
  return [
    { kind: "fib", flags: FIB_FLAG.daddr, result: FIB_RESULT.addrtype, dreg: R1 },
    cmp("==", u32(RTN_LOCAL)),
  ];
}

/** `counter`. */
export function counter(): Expr[] {
  return [{ kind: "counter" }];
}

/** `masquerade`. */
export function masquerade(): Expr[] {
  return [{ kind: "masq" }];
}

function nat(type: "snat" | "dnat", ip: string, p?: number): Expr[] {
  const out: Expr[] = [{ kind: "immediate", dreg: R1, data: parseIPv4(ip) }];
  const e: Expr = { kind: "nat", type, family: AF_INET, addrReg: R1, flags: 0 };
  if (p !== undefined) {
    checkPort(p);
    out.push({ kind: "immediate", dreg: R2, data: u16be(p) });
    e.protoReg = R2;
    e.flags = NAT_RANGE.PROTO_SPECIFIED;
  }
  out.push(e);
  return out;
}

/**
 * `dnat to 172.17.0.2:80` (IPv4; port optional).
 * @example [...tcpDport(8080), ...dnat("172.17.0.2", 80)]
 */
export function dnat(ip: string, p?: number): Expr[] {
  return nat("dnat", ip, p);
}

/** `snat to 10.0.0.1[:port]`. */
export function snat(ip: string, p?: number): Expr[] {
  return nat("snat", ip, p);
}

/** `accept`. */
export function accept(): Expr[] {
  return [{ kind: "verdict", verdict: "accept" }];
}

/** `drop`. */
export function drop(): Expr[] {
  return [{ kind: "verdict", verdict: "drop" }];
}

/** `return`. */
export function ret(): Expr[] {
  return [{ kind: "verdict", verdict: "return" }];
}

/** `jump CHAIN`. */
export function jump(chain: string): Expr[] {
  return [{ kind: "verdict", verdict: "jump", chain }];
}

/** `goto CHAIN`. */
export function goTo(chain: string): Expr[] {
  return [{ kind: "verdict", verdict: "goto", chain }];
}
