// nftables rule expressions as data, and their netlink encoding and decoding
// (pure functions). A rule is a list of expressions the kernel runs in order
// over registers: e.g. `meta load oifname => reg 1; cmp neq reg 1 "br0"; masq`.
// nft_match.ts builds these lists from nft-like terms; nftables.ts sends them.
// See linux/netfilter/nf_tables.h, nft(8); `nft --debug=netlink add rule ...`
// prints the expressions nft would send for a rule.
//
//   NFTA_RULE_EXPRESSIONS (nest)
//     NFTA_LIST_ELEM (nest)            one per expression
//       NFTA_EXPR_NAME "cmp"
//       NFTA_EXPR_DATA (nest)          NFTA_CMP_SREG u32be, NFTA_CMP_OP u32be,
//                                      NFTA_CMP_DATA (nest) { NFTA_DATA_VALUE bytes }
// Integers in nftables attributes are big-endian; data compared in registers
// is in the byte order of the packet (addresses, ports) or host order (meta
// and ct values such as l4proto and ct state).

import {
  attrMap,
  decodeAttrs,
  nla,
  nlaNested,
  nlaString,
  nlaU32be,
  readString,
  readU32be,
} from "./message.ts";

/** Registers: the verdict register and the four 16-byte data registers. */
export const NFT_REG = { VERDICT: 0, R1: 1, R2: 2, R3: 3, R4: 4 } as const;

/** Verdict codes (NF_DROP, NF_ACCEPT, enum nft_verdicts). */
export const VERDICT = {
  drop: 0,
  accept: 1,
  continue: -1,
  break: -2,
  jump: -3,
  goto: -4,
  return: -5,
} as const;
/** A verdict's name. */
export type VerdictName = keyof typeof VERDICT;

/** enum nft_cmp_ops. */
export const CMP_OP = { "==": 0, "!=": 1, "<": 2, "<=": 3, ">": 4, ">=": 5 } as const;
/** A comparison operator. */
export type CmpOp = keyof typeof CMP_OP;

/** enum nft_meta_keys (the ones tsbox uses). */
export const META = {
  len: 0,
  protocol: 1,
  mark: 3,
  iif: 4,
  oif: 5,
  iifname: 6,
  oifname: 7,
  nfproto: 15,
  l4proto: 16,
} as const;
/** enum nft_payload_bases. */
export const PAYLOAD_BASE = { link: 0, network: 1, transport: 2 } as const;
/** enum nft_nat_types. */
export const NAT_TYPE = { snat: 0, dnat: 1 } as const;
/** NF_NAT_RANGE_* flags. */
export const NAT_RANGE = { MAP_IPS: 1, PROTO_SPECIFIED: 2 } as const;
/** enum nft_fib_result and nft_fib_flags. */
export const FIB_RESULT = { oif: 1, oifname: 2, addrtype: 3 } as const;
export const FIB_FLAG = { saddr: 1, daddr: 2, mark: 4, iif: 8, oif: 16, present: 32 } as const;
/** enum nft_ct_keys (the ones tsbox uses). */
export const CT_KEY = { state: 0, direction: 1, status: 2, mark: 3 } as const;

/** One expression of a rule. */
export type Expr =
  | { kind: "meta"; key: number; dreg: number }
  | { kind: "cmp"; sreg: number; op: CmpOp; data: Uint8Array }
  | { kind: "payload"; base: number; offset: number; len: number; dreg: number }
  | { kind: "bitwise"; sreg: number; dreg: number; mask: Uint8Array; xor: Uint8Array }
  | { kind: "immediate"; dreg: number; data: Uint8Array }
  | { kind: "verdict"; verdict: VerdictName; chain?: string }
  | { kind: "counter" }
  | { kind: "masq" }
  | {
    kind: "nat";
    type: keyof typeof NAT_TYPE;
    family: number;
    addrReg?: number;
    protoReg?: number;
    flags: number;
  }
  | { kind: "fib"; flags: number; result: number; dreg: number }
  | { kind: "ct"; key: number; dreg: number }
  | { kind: "unknown"; name: string };

// Attribute numbers, per expression (linux/netfilter/nf_tables.h).
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR = { NAME: 1, DATA: 2 };
const NFTA_DATA = { VALUE: 1, VERDICT: 2 };
const NFTA_VERDICT = { CODE: 1, CHAIN: 2 };
const NFTA_IMMEDIATE = { DREG: 1, DATA: 2 };
const NFTA_CMP = { SREG: 1, OP: 2, DATA: 3 };
const NFTA_META = { DREG: 1, KEY: 2 };
const NFTA_PAYLOAD = { DREG: 1, BASE: 2, OFFSET: 3, LEN: 4 };
const NFTA_BITWISE = { SREG: 1, DREG: 2, LEN: 3, MASK: 4, XOR: 5 };
const NFTA_NAT = { TYPE: 1, FAMILY: 2, REG_ADDR_MIN: 3, REG_PROTO_MIN: 5, FLAGS: 7 };
const NFTA_FIB = { DREG: 1, RESULT: 2, FLAGS: 3 };
const NFTA_CT = { DREG: 1, KEY: 2 };

const value = (type: number, data: Uint8Array) => nlaNested(type, [nla(NFTA_DATA.VALUE, data)]);

function exprData(e: Expr): { name: string; attrs: Uint8Array[] } {
  switch (e.kind) {
    case "meta":
      return {
        name: "meta",
        attrs: [nlaU32be(NFTA_META.KEY, e.key), nlaU32be(NFTA_META.DREG, e.dreg)],
      };
    case "cmp":
      return {
        name: "cmp",
        attrs: [
          nlaU32be(NFTA_CMP.SREG, e.sreg),
          nlaU32be(NFTA_CMP.OP, CMP_OP[e.op]),
          value(NFTA_CMP.DATA, e.data),
        ],
      };
    case "payload":
      return {
        name: "payload",
        attrs: [
          nlaU32be(NFTA_PAYLOAD.DREG, e.dreg),
          nlaU32be(NFTA_PAYLOAD.BASE, e.base),
          nlaU32be(NFTA_PAYLOAD.OFFSET, e.offset),
          nlaU32be(NFTA_PAYLOAD.LEN, e.len),
        ],
      };
    case "bitwise":
      return {
        name: "bitwise",
        attrs: [
          nlaU32be(NFTA_BITWISE.SREG, e.sreg),
          nlaU32be(NFTA_BITWISE.DREG, e.dreg),
          nlaU32be(NFTA_BITWISE.LEN, e.mask.length),
          value(NFTA_BITWISE.MASK, e.mask),
          value(NFTA_BITWISE.XOR, e.xor),
        ],
      };
    case "immediate":
      return {
        name: "immediate",
        attrs: [nlaU32be(NFTA_IMMEDIATE.DREG, e.dreg), value(NFTA_IMMEDIATE.DATA, e.data)],
      };
    case "verdict": {
      const v = [nlaU32be(NFTA_VERDICT.CODE, VERDICT[e.verdict])];
      if (e.chain !== undefined) v.push(nlaString(NFTA_VERDICT.CHAIN, e.chain));
      const data = nlaNested(NFTA_IMMEDIATE.DATA, [nlaNested(NFTA_DATA.VERDICT, v)]);
      return { name: "immediate", attrs: [nlaU32be(NFTA_IMMEDIATE.DREG, NFT_REG.VERDICT), data] };
    }
    case "counter":
      return { name: "counter", attrs: [] };
    case "masq":
      return { name: "masq", attrs: [] };
    case "nat": {
      const attrs = [
        nlaU32be(NFTA_NAT.TYPE, NAT_TYPE[e.type]),
        nlaU32be(NFTA_NAT.FAMILY, e.family),
      ];
      if (e.addrReg !== undefined) attrs.push(nlaU32be(NFTA_NAT.REG_ADDR_MIN, e.addrReg));
      if (e.protoReg !== undefined) attrs.push(nlaU32be(NFTA_NAT.REG_PROTO_MIN, e.protoReg));
      if (e.flags) attrs.push(nlaU32be(NFTA_NAT.FLAGS, e.flags));
      return { name: "nat", attrs };
    }
    case "fib":
      return {
        name: "fib",
        attrs: [
          nlaU32be(NFTA_FIB.FLAGS, e.flags),
          nlaU32be(NFTA_FIB.RESULT, e.result),
          nlaU32be(NFTA_FIB.DREG, e.dreg),
        ],
      };
    case "ct":
      return { name: "ct", attrs: [nlaU32be(NFTA_CT.KEY, e.key), nlaU32be(NFTA_CT.DREG, e.dreg)] };
    case "unknown":
      throw new TypeError(`cannot encode unknown nftables expression ${e.name}`);
  }
}

/**
 * Encodes one expression as an NFTA_LIST_ELEM nest: its name, then its data
 * (an empty nest for `counter` and `masq`, as nft sends). Attribute order is
 * nft's (libnftnl), so the bytes equal what `nft add rule` sends.
 */
export function encodeExpr(e: Expr): Uint8Array {
  const { name, attrs } = exprData(e);
  return nlaNested(NFTA_LIST_ELEM, [
    nlaString(NFTA_EXPR.NAME, name),
    nlaNested(NFTA_EXPR.DATA, attrs),
  ]);
}

const byValue = <T extends Record<string, number>>(t: T, v: number | undefined) =>
  (Object.keys(t) as (keyof T)[]).find((k) => t[k] === v);

function dataValue(b: Uint8Array | undefined): Uint8Array {
  return (b && attrMap(b).get(NFTA_DATA.VALUE)?.slice()) ?? new Uint8Array(0);
}

/** Decodes one NFTA_LIST_ELEM payload; expressions tsbox does not build come back as "unknown". */
export function decodeExpr(elem: Uint8Array): Expr {
  const top = attrMap(elem);
  const name = readString(top.get(NFTA_EXPR.NAME)) ?? "";
  const a = attrMap(top.get(NFTA_EXPR.DATA) ?? new Uint8Array(0));
  const n = (t: number) => readU32be(a.get(t)) ?? 0;
  switch (name) {
    case "meta":
      return { kind: "meta", key: n(NFTA_META.KEY), dreg: n(NFTA_META.DREG) };
    case "cmp":
      return {
        kind: "cmp",
        sreg: n(NFTA_CMP.SREG),
        op: byValue(CMP_OP, n(NFTA_CMP.OP)) ?? "==",
        data: dataValue(a.get(NFTA_CMP.DATA)),
      };
    case "payload":
      return {
        kind: "payload",
        dreg: n(NFTA_PAYLOAD.DREG),
        base: n(NFTA_PAYLOAD.BASE),
        offset: n(NFTA_PAYLOAD.OFFSET),
        len: n(NFTA_PAYLOAD.LEN),
      };
    case "bitwise":
      return {
        kind: "bitwise",
        sreg: n(NFTA_BITWISE.SREG),
        dreg: n(NFTA_BITWISE.DREG),
        mask: dataValue(a.get(NFTA_BITWISE.MASK)),
        xor: dataValue(a.get(NFTA_BITWISE.XOR)),
      };
    case "immediate": {
      const data = attrMap(a.get(NFTA_IMMEDIATE.DATA) ?? new Uint8Array(0));
      const verdict = data.get(NFTA_DATA.VERDICT);
      if (verdict) {
        const v = attrMap(verdict);
        const code = readU32be(v.get(NFTA_VERDICT.CODE)) ?? 0;
        const e: Expr = { kind: "verdict", verdict: byValue(VERDICT, code | 0) ?? "continue" };
        const chain = readString(v.get(NFTA_VERDICT.CHAIN));
        if (chain !== undefined) e.chain = chain;
        return e;
      }
      return {
        kind: "immediate",
        dreg: n(NFTA_IMMEDIATE.DREG),
        data: data.get(NFTA_DATA.VALUE)?.slice() ?? new Uint8Array(0),
      };
    }
    case "counter":
      return { kind: "counter" };
    case "masq":
      return { kind: "masq" };
    case "nat": {
      const e: Expr = {
        kind: "nat",
        type: byValue(NAT_TYPE, n(NFTA_NAT.TYPE)) ?? "snat",
        family: n(NFTA_NAT.FAMILY),
        flags: n(NFTA_NAT.FLAGS),
      };
      if (a.has(NFTA_NAT.REG_ADDR_MIN)) e.addrReg = n(NFTA_NAT.REG_ADDR_MIN);
      if (a.has(NFTA_NAT.REG_PROTO_MIN)) e.protoReg = n(NFTA_NAT.REG_PROTO_MIN);
      return e;
    }
    case "fib":
      return {
        kind: "fib",
        dreg: n(NFTA_FIB.DREG),
        result: n(NFTA_FIB.RESULT),
        flags: n(NFTA_FIB.FLAGS),
      };
    case "ct":
      return { kind: "ct", key: n(NFTA_CT.KEY), dreg: n(NFTA_CT.DREG) };
    default:
      return { kind: "unknown", name };
  }
}

/** Decodes the value of NFTA_RULE_EXPRESSIONS. */
export function decodeExprList(list: Uint8Array): Expr[] {
  return decodeAttrs(list).filter((x) => x.type === NFTA_LIST_ELEM).map((x) => decodeExpr(x.value));
}
