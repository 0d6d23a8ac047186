// tsbox's nftables table and the rules of each network: masquerade for
// traffic leaving a network's subnet, isolation between networks, and accept
// rules in another program's FORWARD chain when its policy is drop. Over
// NETLINK_NETFILTER with the netlink library; nothing here builds bytes.
// See nft(8), nftables.ts, and Docker's bridge driver (moby
// libnetwork/drivers/bridge/setup_ip_tables_linux.go) for the same rules in
// iptables form.
//
// Everything lives in one table, `ip tsbox`, in the namespace tsbox runs in:
//
//   chain prerouting  { type nat hook prerouting priority dstnat;  fib daddr type local jump ports }
//   chain output      { type nat hook output priority dstnat;      fib daddr type local jump ports }
//   chain ports       { per container: [ip daddr HOSTIP] tcp dport 8080 dnat to 172.17.0.2:80 }
//   chain postrouting { type nat hook postrouting priority srcnat;
//                       per network:  ip saddr SUBNET oifname != BR masquerade        (NAPT)
//                                     ip saddr SUBNET oifname BR ct status dnat masquerade
//                                                                  (hairpin: a peer via the host)
//                                     ip saddr 127.0.0.0/8 oifname BR masquerade
//                                                                  (ports published on 127.0.0.1) }
//   chain forward     { type filter hook forward priority filter;
//                       ct state established,related accept; ct status dnat accept
//                       per network:  iifname BR oifname "tsbox*" oifname != BR drop  (isolation) }
//   chain input       { type filter hook input priority filter;
//                       iifname "tsbox*" ip daddr 127.0.0.0/8 ct status ! dnat drop }
//                                                   (the host's loopback services, CVE-2020-8558)
//
// Rules carry comments: "tsbox" (shared), "tsbox-net:NAME" (a network),
// "tsbox:ID" (a container, portmap.ts). Removal deletes exactly the rules
// with one comment, by handle. The table goes when the last network goes.
//
// Ports published on 127.0.0.1 reach a container through the output chain's
// DNAT: the packet keeps source 127.0.0.1 and leaves through the bridge,
// which the kernel allows only with net.ipv4.conf.BR.route_localnet=1
// (bridge.ts sets it while a container of the network publishes a port the
// host reaches on 127.0.0.1), and the masquerade above gives it the
// bridge's address so the container can answer (what Docker does without
// its proxy). route_localnet also lets a container reach the host's
// 127.0.0.1 itself: a frame to the gateway's MAC with destination
// 127.0.0.1 (a container with CAP_NET_RAW can send one) would be delivered
// to services bound to the host's loopback. The input chain drops such
// packets unless they belong to a connection DNATed for a published port
// (the replies of a host's connection to a 127.0.0.1-published port are),
// which is Kubernetes' fix for CVE-2020-8558.

import { Errno } from "../../ffi/errno.ts";
import { TsboxError } from "../errors.ts";
import {
  listChainInfo,
  listRules,
  NftBatch,
  type NftChain,
  type NftRule,
  type RuleSpec,
} from "./netlink/nftables.ts";
import * as m from "./netlink/nft_match.ts";
import type { Expr } from "./netlink/nft_expr.ts";
import { NetlinkError, type NetlinkSocket } from "./netlink/socket.ts";

/** tsbox's table: family and name. */
export const TABLE = { family: "ip", name: "tsbox" } as const;
/** The regular chain holding the per-container DNAT rules. */
export const PORTS_CHAIN = "ports";
/** Every tsbox bridge's name starts with this (tsbox0, tsbox-1a2b3c4d). */
export const BRIDGE_PREFIX = "tsbox";
/** The filter chain on the input hook: what containers may deliver to the host itself. */
export const INPUT_CHAIN = "input";

const SHARED = "tsbox";

/** The comment of a network's rules. */
export function networkComment(name: string): string {
  return `tsbox-net:${name}`;
}

/** What the rules of a network need to know. */
export interface NatNetwork {
  name: string;
  /** "172.17.0.0/16" */
  subnet: string;
  /** The bridge's interface name. */
  bridge: string;
}

function rule(chain: string, exprs: Expr[], comment: string): RuleSpec {
  return { family: TABLE.family, table: TABLE.name, chain, exprs, comment };
}

/** The table, its chains and the shared rules, as one batch (pure, for tests). */
export function baseBatch(): NftBatch {
  const t = { family: TABLE.family, table: TABLE.name };
  const b = new NftBatch().addTable(TABLE.family, TABLE.name, { exclusive: true });
  b.addChain({ ...t, name: PORTS_CHAIN });
  b.addChain({
    ...t,
    name: "prerouting",
    base: { type: "nat", hook: "prerouting", priority: "dstnat" },
  });
  b.addChain({ ...t, name: "output", base: { type: "nat", hook: "output", priority: "dstnat" } });
  b.addChain({
    ...t,
    name: "postrouting",
    base: { type: "nat", hook: "postrouting", priority: "srcnat" },
  });
  b.addChain({
    ...t,
    name: "forward",
    base: { type: "filter", hook: "forward", priority: "filter" },
  });
  for (const chain of ["prerouting", "output"]) {
    b.addRule(rule(chain, [...m.fibDaddrTypeLocal(), ...m.jump(PORTS_CHAIN)], SHARED));
  }
  b.addRule(rule("forward", [...m.ctState("established", "related"), ...m.accept()], SHARED));
  b.addRule(rule("forward", [...m.ctStatus("dnat"), ...m.accept()], SHARED));
  addLoopbackGuard(b);
  return b;
}

/**
 * The input chain and its rule: packets from a tsbox bridge to 127.0.0.0/8
 * are dropped unless DNATed for a published port (see the header).
 */
function addLoopbackGuard(b: NftBatch): NftBatch {
  const t = { family: TABLE.family, table: TABLE.name };
  b.addChain({
    ...t,
    name: INPUT_CHAIN,
    base: { type: "filter", hook: "input", priority: "filter" },
  });
  b.addRule(loopbackGuardRule());
  return b;
}

/** `iifname "tsbox*" ip daddr 127.0.0.0/8 ct status ! dnat drop` in the input chain (pure, for tests). */
export function loopbackGuardRule(): RuleSpec {
  return rule(INPUT_CHAIN, [
    ...m.iifname(`${BRIDGE_PREFIX}*`),
    ...m.ipDaddr("127.0.0.0/8"),
    ...m.ctStatusNot("dnat"),
    ...m.drop(),
  ], SHARED);
}

/** The rules of one network in tsbox's table (pure, for tests). */
export function networkRules(net: NatNetwork): RuleSpec[] {
  const c = networkComment(net.name);
  return [
    rule("postrouting", [
      ...m.ipSaddr(net.subnet),
      ...m.oifname(net.bridge, "!="),
      ...m.masquerade(),
    ], c),
    rule("postrouting", [
      ...m.ipSaddr(net.subnet),
      ...m.oifname(net.bridge),
      ...m.ctStatus("dnat"),
      ...m.masquerade(),
    ], c),
    rule("postrouting", [
      ...m.ipSaddr("127.0.0.0/8"),
      ...m.oifname(net.bridge),
      ...m.masquerade(),
    ], c),
    rule("forward", [
      ...m.iifname(net.bridge),
      ...m.oifname(`${BRIDGE_PREFIX}*`),
      ...m.oifname(net.bridge, "!="),
      ...m.drop(),
    ], c),
  ];
}

/**
 * The accept rules a network needs in another program's FORWARD chain whose
 * policy is drop (an accept in tsbox's own table is not final: every base
 * chain on the hook must accept). Inserted at the top of that chain.
 */
export function foreignForwardRules(net: NatNetwork, chain: NftChain): RuleSpec[] {
  const family = chain.family as RuleSpec["family"];
  const base = { family, table: chain.table, chain: chain.name, insert: true };
  const comment = networkComment(net.name);
  return [
    { ...base, comment, exprs: [...m.iifname(net.bridge), ...m.accept()] },
    {
      ...base,
      comment,
      exprs: [...m.oifname(net.bridge), ...m.ctState("established", "related"), ...m.accept()],
    },
    { ...base, comment, exprs: [...m.oifname(net.bridge), ...m.ctStatus("dnat"), ...m.accept()] },
  ];
}

/**
 * Base chains of other programs that drop forwarded packets by policy:
 * `ip filter FORWARD` of iptables-nft, `inet firewalld filter_FORWARD`, ...
 */
export function forwardDropChains(sock: NetlinkSocket): NftChain[] {
  return listChainInfo(sock).filter((c) =>
    c.hook === "forward" && c.policy === "drop" && (c.family === "ip" || c.family === "inet") &&
    !(c.family === TABLE.family && c.table === TABLE.name)
  );
}

/**
 * Creates the table, chains and shared rules unless the table exists; a
 * table made by an older tsbox gets the input chain it lacks.
 */
export function ensureTable(sock: NetlinkSocket): void {
  try {
    baseBatch().commit(sock);
  } catch (e) {
    if (!(e instanceof NetlinkError && e.errno === Errno.EEXIST)) {
      throw new TsboxError(`create nftables table ${TABLE.family} ${TABLE.name}`, { cause: e });
    }
    if (
      listChainInfo(sock, TABLE.family).some((c) =>
        c.table === TABLE.name && c.name === INPUT_CHAIN
      )
    ) {
      return;
    }
    try {
      addLoopbackGuard(new NftBatch()).commit(sock);
    } catch (e2) {
      throw new TsboxError(`add chain ${INPUT_CHAIN} to nftables table ${TABLE.name}`, {
        cause: e2,
      });
    }
  }
}

/** The rules of the table (or of one chain); [] when the table or chain does not exist. */
export function tableRules(sock: NetlinkSocket, chain?: string): NftRule[] {
  try {
    return listRules(sock, TABLE.family, TABLE.name, chain);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENOENT) return [];
    throw e;
  }
}

/** Deletes the listed rules in one batch; rules already gone are skipped. */
export function deleteRules(sock: NetlinkSocket, rules: readonly NftRule[]): void {
  if (!rules.length) return;
  const b = new NftBatch();
  for (const r of rules) {
    b.deleteRule(r.family as RuleSpec["family"], r.table, r.chain, r.handle);
  }
  try {
    b.commit(sock);
  } catch (e) {
    if (!(e instanceof NetlinkError && e.errno === Errno.ENOENT)) throw e;
    // Someone removed one meanwhile: the batch was refused whole, so retry one by one.
    for (const r of rules) {
      try {
        new NftBatch().deleteRule(r.family as RuleSpec["family"], r.table, r.chain, r.handle)
          .commit(sock);
      } catch (e2) {
        if (!(e2 instanceof NetlinkError && e2.errno === Errno.ENOENT)) throw e2;
      }
    }
  }
}

/** The rules with `comment` in the other programs' forward-drop chains. */
function foreignRulesWith(sock: NetlinkSocket, comment: string): NftRule[] {
  const out: NftRule[] = [];
  for (const c of forwardDropChains(sock)) {
    out.push(
      ...listRules(sock, c.family as RuleSpec["family"], c.table, c.name)
        .filter((r) => r.comment === comment),
    );
  }
  return out;
}

/**
 * Installs the rules of `net` (after removing any left by an earlier,
 * interrupted setup). Returns the foreign chains that got accept rules, for
 * the caller to mention. Call with the network lock held.
 */
export function installNetworkRules(sock: NetlinkSocket, net: NatNetwork): NftChain[] {
  ensureTable(sock);
  removeNetworkRules(sock, net.name);
  const foreign = forwardDropChains(sock);
  const b = new NftBatch();
  for (const r of networkRules(net)) b.addRule(r);
  for (const c of foreign) for (const r of foreignForwardRules(net, c).reverse()) b.addRule(r);
  try {
    b.commit(sock);
  } catch (e) {
    throw new TsboxError(`add the nftables rules of network ${net.name}`, { cause: e });
  }
  return foreign;
}

/** Removes every rule of network `name`, in tsbox's table and in foreign forward chains. */
export function removeNetworkRules(sock: NetlinkSocket, name: string): void {
  const comment = networkComment(name);
  deleteRules(sock, [
    ...tableRules(sock).filter((r) => r.comment === comment),
    ...foreignRulesWith(sock, comment),
  ]);
}

/** Deletes tsbox's table if it exists (NFT_MSG_DESTROYTABLE, Linux 6.3+). */
export function deleteTable(sock: NetlinkSocket): void {
  try {
    new NftBatch().deleteTable(TABLE.family, TABLE.name, { ifExists: true }).commit(sock);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENOENT) return;
    throw new TsboxError(`delete nftables table ${TABLE.family} ${TABLE.name}`, { cause: e });
  }
}
