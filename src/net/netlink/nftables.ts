// nftables over NETLINK_NETFILTER (nfnetlink subsystem NFNL_SUBSYS_NFTABLES):
// tables, chains and rules, changed in batched transactions and listed by
// dumps. tsbox keeps everything in tables it names itself and never touches
// another table. Rules carry nft's user-data comment so tsbox can find the
// rules it made for a container (`comment "tsbox:<id>"`).
// See linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h, nft(8).
//
// A transaction is one sendto of:
//   NFNL_MSG_BATCH_BEGIN  nfgenmsg { AF_UNSPEC, v0, res_id = htons(NFNL_SUBSYS_NFTABLES) }
//   (10 << 8 | NFT_MSG_NEWTABLE ...)  nfgenmsg { family, v0, 0 } + NFTA_* attrs, NLM_F_ACK
//   ...
//   NFNL_MSG_BATCH_END    nfgenmsg as for BEGIN
// The kernel applies all of it or none, and answers every message that asked
// for an ACK (with 0 or its errno).

import { AF_UNSPEC } from "../../../ffi/constants.ts";
import {
  attrMap,
  concat,
  type Message,
  nla,
  nlaNested,
  nlaString,
  nlaU32be,
  nlaU64be,
  NLM_F,
  readString,
  readU32be,
  readU64be,
} from "./message.ts";
import {
  nfgenmsg,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS,
  nfnlType,
} from "./nfnetlink.ts";
import { decodeExprList, encodeExpr, type Expr } from "./nft_expr.ts";
import { NFPROTO, type TableFamily } from "./nft_match.ts";
import type { NetlinkSocket, Request } from "./socket.ts";

export { NFPROTO, type TableFamily };

/** enum nf_tables_msg_types. */
export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  DELCHAIN: 5,
  NEWRULE: 6,
  GETRULE: 7,
  DELRULE: 8,
  DESTROYTABLE: 26,
  DESTROYCHAIN: 27,
  DESTROYRULE: 28,
} as const;

const NFTA_TABLE = { NAME: 1, FLAGS: 2, HANDLE: 4 };
const NFTA_CHAIN = { TABLE: 1, NAME: 3, HOOK: 4, POLICY: 5, TYPE: 7 };
const NFTA_HOOK = { HOOKNUM: 1, PRIORITY: 2 };
const NFTA_RULE = { TABLE: 1, CHAIN: 2, HANDLE: 3, EXPRESSIONS: 4, USERDATA: 7 };
/** nft's user-data TLV type for a rule comment (libnftnl NFTNL_UDATA_RULE_COMMENT). */
const UDATA_RULE_COMMENT = 0;
/** nft's limit on comments (NFTNL_UDATA_COMMENT_MAXLEN), NUL included. */
const COMMENT_MAX = 128;

/** Netfilter hooks (enum nf_inet_hooks). */
export const HOOK = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
/** Named priorities of nft(8) for the ip/inet families. */
export const PRIORITY = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

/** The message type of an nftables message. */
export function nftType(msg: number): number {
  return nfnlType(NFNL_SUBSYS.NFTABLES, msg);
}

/** A base chain's hook. */
export interface BaseChain {
  type: "filter" | "nat" | "route";
  hook: keyof typeof HOOK;
  /** A number or one of nft's names: "dstnat" (-100), "filter" (0), "srcnat" (100), ... */
  priority: number | keyof typeof PRIORITY;
  /** Default "accept". */
  policy?: "accept" | "drop";
}

/** A chain to create: a base chain when `base` is given, else a regular chain (jump target). */
export interface ChainSpec {
  family: TableFamily;
  table: string;
  name: string;
  base?: BaseChain;
}

/** A rule to add. */
export interface RuleSpec {
  family: TableFamily;
  table: string;
  chain: string;
  exprs: readonly Expr[];
  /** Stored as nft's comment (user data); `nft list` shows it. At most 127 bytes. */
  comment?: string;
  /** Put the rule first in the chain instead of last. */
  insert?: boolean;
}

/** Encodes nft's rule user data holding `comment` (TLV: type u8, len u8, NUL-terminated value). */
export function encodeComment(comment: string): Uint8Array {
  const s = new TextEncoder().encode(comment);
  if (s.includes(0) || s.length + 1 > COMMENT_MAX) {
    throw new TypeError(
      `invalid nftables comment ${JSON.stringify(comment)}: at most ${COMMENT_MAX - 1} bytes`,
    );
  }
  return concat([Uint8Array.of(UDATA_RULE_COMMENT, s.length + 1), s, Uint8Array.of(0)]);
}

/** The comment in nft rule user data, if any. */
export function decodeComment(udata: Uint8Array): string | undefined {
  for (let off = 0; off + 2 <= udata.length;) {
    const type = udata[off]!, len = udata[off + 1]!;
    if (off + 2 + len > udata.length) return undefined;
    if (type === UDATA_RULE_COMMENT) return readString(udata.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return undefined;
}

const q = JSON.stringify;

/**
 * One nftables transaction, built as data and sent by `commit`: every change
 * in it happens, or none does.
 *
 * @example
 * const b = new NftBatch();
 * b.addTable("ip", "tsbox");
 * b.addChain({ family: "ip", table: "tsbox", name: "postrouting",
 *   base: { type: "nat", hook: "postrouting", priority: "srcnat" } });
 * b.addRule({ family: "ip", table: "tsbox", chain: "postrouting",
 *   exprs: [...ipSaddr("172.17.0.0/16"), ...oifname("tsbox0", "!="), ...masquerade()] });
 * b.commit(sock);
 */
export class NftBatch {
  readonly requests: Request[] = [];

  #push(msg: number, family: TableFamily, flags: number, attrs: Uint8Array[], describe: string) {
    this.requests.push({
      type: nftType(msg),
      flags: flags | NLM_F.ACK,
      payload: concat([nfgenmsg(NFPROTO[family]), ...attrs]),
      describe,
    });
  }

  /** `add table FAMILY NAME` (no error if it exists, unless `exclusive`). */
  addTable(family: TableFamily, name: string, opts: { exclusive?: boolean } = {}): this {
    const flags = NLM_F.CREATE | (opts.exclusive ? NLM_F.EXCL : 0);
    this.#push(
      NFT_MSG.NEWTABLE,
      family,
      flags,
      [nlaString(NFTA_TABLE.NAME, name)],
      `NFT_MSG_NEWTABLE ${family} ${q(name)}`,
    );
    return this;
  }

  /** `delete table` (ENOENT if missing), or `destroy table` with `ifExists` (Linux 6.3+). */
  deleteTable(family: TableFamily, name: string, opts: { ifExists?: boolean } = {}): this {
    const msg = opts.ifExists ? NFT_MSG.DESTROYTABLE : NFT_MSG.DELTABLE;
    const what = opts.ifExists ? "NFT_MSG_DESTROYTABLE" : "NFT_MSG_DELTABLE";
    this.#push(msg, family, 0, [nlaString(NFTA_TABLE.NAME, name)], `${what} ${family} ${q(name)}`);
    return this;
  }

  /** `add chain` (no error if it exists with the same hook). */
  addChain(c: ChainSpec): this {
    const attrs = [nlaString(NFTA_CHAIN.TABLE, c.table), nlaString(NFTA_CHAIN.NAME, c.name)];
    if (c.base) {
      const prio = typeof c.base.priority === "number"
        ? c.base.priority
        : PRIORITY[c.base.priority];
      attrs.push(nlaNested(NFTA_CHAIN.HOOK, [
        nlaU32be(NFTA_HOOK.HOOKNUM, HOOK[c.base.hook]),
        nlaU32be(NFTA_HOOK.PRIORITY, prio),
      ]));
      attrs.push(nlaU32be(NFTA_CHAIN.POLICY, c.base.policy === "drop" ? 0 : 1));
      attrs.push(nlaString(NFTA_CHAIN.TYPE, c.base.type));
    }
    this.#push(
      NFT_MSG.NEWCHAIN,
      c.family,
      NLM_F.CREATE,
      attrs,
      `NFT_MSG_NEWCHAIN ${c.family} ${q(c.table)} ${q(c.name)}`,
    );
    return this;
  }

  /** `delete chain` (the chain must be empty and unreferenced). */
  deleteChain(family: TableFamily, table: string, name: string): this {
    const attrs = [nlaString(NFTA_CHAIN.TABLE, table), nlaString(NFTA_CHAIN.NAME, name)];
    this.#push(
      NFT_MSG.DELCHAIN,
      family,
      0,
      attrs,
      `NFT_MSG_DELCHAIN ${family} ${q(table)} ${q(name)}`,
    );
    return this;
  }

  /** `flush chain`: deletes every rule of the chain. */
  flushChain(family: TableFamily, table: string, chain: string): this {
    const attrs = [nlaString(NFTA_RULE.TABLE, table), nlaString(NFTA_RULE.CHAIN, chain)];
    this.#push(
      NFT_MSG.DELRULE,
      family,
      0,
      attrs,
      `NFT_MSG_DELRULE ${family} ${q(table)} ${q(chain)} (flush)`,
    );
    return this;
  }

  /** `add rule` (or `insert rule` with `insert`). */
  addRule(r: RuleSpec): this {
    const attrs = [
      nlaString(NFTA_RULE.TABLE, r.table),
      nlaString(NFTA_RULE.CHAIN, r.chain),
      nlaNested(NFTA_RULE.EXPRESSIONS, r.exprs.map(encodeExpr)),
    ];
    if (r.comment !== undefined) attrs.push(nla(NFTA_RULE.USERDATA, encodeComment(r.comment)));
    const flags = NLM_F.CREATE | (r.insert ? 0 : NLM_F.APPEND);
    const c = r.comment !== undefined ? ` comment ${q(r.comment)}` : "";
    const kinds = ` [${r.exprs.map((e) => e.kind).join(" ")}]`;
    this.#push(
      NFT_MSG.NEWRULE,
      r.family,
      flags,
      attrs,
      `NFT_MSG_NEWRULE ${r.family} ${q(r.table)} ${q(r.chain)}${kinds}${c}`,
    );
    return this;
  }

  /** `delete rule ... handle N`. */
  deleteRule(family: TableFamily, table: string, chain: string, handle: number): this {
    const attrs = [
      nlaString(NFTA_RULE.TABLE, table),
      nlaString(NFTA_RULE.CHAIN, chain),
      nlaU64be(NFTA_RULE.HANDLE, BigInt(handle)),
    ];
    this.#push(
      NFT_MSG.DELRULE,
      family,
      0,
      attrs,
      `NFT_MSG_DELRULE ${family} ${q(table)} ${q(chain)} handle ${handle}`,
    );
    return this;
  }

  /** The whole transaction, framed by BATCH_BEGIN and BATCH_END. */
  framed(): Request[] {
    const frame = (type: number, describe: string): Request => ({
      type,
      payload: nfgenmsg(AF_UNSPEC, NFNL_SUBSYS.NFTABLES),
      describe,
    });
    return [
      frame(NFNL_MSG_BATCH_BEGIN, "NFNL_MSG_BATCH_BEGIN"),
      ...this.requests,
      frame(NFNL_MSG_BATCH_END, "NFNL_MSG_BATCH_END"),
    ];
  }

  /** Sends the transaction on a NETLINK_NETFILTER socket; throws the first error (nothing applied). */
  commit(sock: NetlinkSocket): void {
    if (this.requests.length === 0) return;
    sock.transact(this.framed());
  }
}

// ---- listing ------------------------------------------------------------------

/** A table as listed. */
export interface NftTable {
  family: TableFamily | number;
  name: string;
  handle: number;
}

/** A rule as listed. */
export interface NftRule {
  family: TableFamily | number;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  exprs: Expr[];
}

function familyName(n: number): TableFamily | number {
  return (Object.keys(NFPROTO) as TableFamily[]).find((k) => NFPROTO[k] === n) ?? n;
}

function dump(
  sock: NetlinkSocket,
  msg: number,
  family: number,
  attrs: Uint8Array[],
  describe: string,
): Message[] {
  return sock.dump({ type: nftType(msg), payload: concat([nfgenmsg(family), ...attrs]), describe });
}

/** The tables of one family, or of all families. */
export function listTables(sock: NetlinkSocket, family?: TableFamily): NftTable[] {
  const f = family === undefined ? 0 : NFPROTO[family];
  return dump(sock, NFT_MSG.GETTABLE, f, [], "NFT_MSG_GETTABLE dump")
    .filter((m) => m.type === nftType(NFT_MSG.NEWTABLE))
    .map((m) => {
      const a = attrMap(m.payload.subarray(4));
      return {
        family: familyName(m.payload[0]!),
        name: readString(a.get(NFTA_TABLE.NAME)) ?? "",
        handle: Number(readU64be(a.get(NFTA_TABLE.HANDLE)) ?? 0n),
      };
    });
}

/**
 * The rules of a table, or of one chain, with their handles and comments.
 * ENOENT if the table or chain does not exist.
 */
export function listRules(
  sock: NetlinkSocket,
  family: TableFamily,
  table: string,
  chain?: string,
): NftRule[] {
  const attrs = [nlaString(NFTA_RULE.TABLE, table)];
  if (chain !== undefined) attrs.push(nlaString(NFTA_RULE.CHAIN, chain));
  const what = `NFT_MSG_GETRULE ${family} ${q(table)}${chain !== undefined ? ` ${q(chain)}` : ""}`;
  return dump(sock, NFT_MSG.GETRULE, NFPROTO[family], attrs, what)
    .filter((m) => m.type === nftType(NFT_MSG.NEWRULE))
    .map((m) => {
      const a = attrMap(m.payload.subarray(4));
      const rule: NftRule = {
        family: familyName(m.payload[0]!),
        table: readString(a.get(NFTA_RULE.TABLE)) ?? "",
        chain: readString(a.get(NFTA_RULE.CHAIN)) ?? "",
        handle: Number(readU64be(a.get(NFTA_RULE.HANDLE)) ?? 0n),
        exprs: decodeExprList(a.get(NFTA_RULE.EXPRESSIONS) ?? new Uint8Array(0)),
      };
      const ud = a.get(NFTA_RULE.USERDATA);
      const comment = ud && decodeComment(ud);
      if (comment !== undefined) rule.comment = comment;
      return rule;
    })
    .filter((r) => r.table === table && (chain === undefined || r.chain === chain));
}

/** The names of the chains of a table. */
export function listChains(sock: NetlinkSocket, family: TableFamily, table: string): string[] {
  return dump(sock, NFT_MSG.GETCHAIN, NFPROTO[family], [], "NFT_MSG_GETCHAIN dump")
    .filter((m) => m.type === nftType(NFT_MSG.NEWCHAIN))
    .map((m) => attrMap(m.payload.subarray(4)))
    .filter((a) => readString(a.get(NFTA_CHAIN.TABLE)) === table)
    .map((a) => readString(a.get(NFTA_CHAIN.NAME)) ?? "");
}

/** A chain as listed, with its hook when it is a base chain. */
export interface NftChain {
  family: TableFamily | number;
  table: string;
  name: string;
  /** Base chains only: hook name ("forward", ...) or number, priority, type and policy. */
  hook?: keyof typeof HOOK | number;
  priority?: number;
  type?: string;
  policy?: "accept" | "drop";
}

const hookName = (n: number) =>
  (Object.keys(HOOK) as (keyof typeof HOOK)[]).find((k) => HOOK[k] === n) ?? n;

/**
 * Every chain of one family (or of all), with hook, priority, type and policy
 * of the base chains: what another program (iptables-nft, firewalld) has set
 * up, e.g. `ip filter FORWARD` with policy drop.
 */
export function listChainInfo(sock: NetlinkSocket, family?: TableFamily): NftChain[] {
  const f = family === undefined ? 0 : NFPROTO[family];
  return dump(sock, NFT_MSG.GETCHAIN, f, [], "NFT_MSG_GETCHAIN dump")
    .filter((m) => m.type === nftType(NFT_MSG.NEWCHAIN))
    .map((m) => {
      const a = attrMap(m.payload.subarray(4));
      const c: NftChain = {
        family: familyName(m.payload[0]!),
        table: readString(a.get(NFTA_CHAIN.TABLE)) ?? "",
        name: readString(a.get(NFTA_CHAIN.NAME)) ?? "",
      };
      const hook = a.get(NFTA_CHAIN.HOOK);
      if (hook) {
        const h = attrMap(hook);
        const num = readU32be(h.get(NFTA_HOOK.HOOKNUM));
        if (num !== undefined) c.hook = hookName(num);
        const prio = readU32be(h.get(NFTA_HOOK.PRIORITY));
        if (prio !== undefined) c.priority = prio | 0;
        const policy = readU32be(a.get(NFTA_CHAIN.POLICY));
        if (policy !== undefined) c.policy = policy === 0 ? "drop" : "accept";
        const type = readString(a.get(NFTA_CHAIN.TYPE));
        if (type !== undefined) c.type = type;
      }
      return c;
    });
}

/** Finds the handles of the rules whose comment is `comment` (e.g. a container's id). */
export function findRulesByComment(
  sock: NetlinkSocket,
  family: TableFamily,
  table: string,
  comment: string,
): NftRule[] {
  return listRules(sock, family, table).filter((r) => r.comment === comment);
}
