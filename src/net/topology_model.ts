// The network topology as data, assembled from kernel dumps (pure: no
// kernel access; topology.ts makes the dumps). What `tsbox network diagram`
// and `tsbox ui` draw:
//
//   host namespace ── interfaces (lo, eth0, ...) with their IPv4 addresses
//        │
//        ├── bridge tsbox0 172.17.0.1/16 ── vethXXXX ══ eth0 (container netns)
//        │                                  host end     peer end: 172.17.0.2, 02:42:ac:11:00:02
//        ├── bridge tsbox-1a2b3c4d ...      (forward drop between tsbox bridges: isolation)
//        ├── published ports: nft `ip tsbox` chain ports, one DNAT rule each
//        └── translations: conntrack entries with SRC_NAT (NAPT out) or DST_NAT (port in)
//
// A veth pair is matched by the ifindexes each end reports for its peer
// (IFLA_LINK): the host end's peer index is the container end's index in the
// container's namespace, and the other way round. Names of networks and
// containers come from tsbox's records and only label what the kernel shows.

import type { Address, Link } from "./netlink/route.ts";
import type { ConntrackEntry, Tuple } from "./netlink/conntrack.ts";
import type { NftRule } from "./netlink/nftables.ts";
import { natKinds } from "./netlink/conntrack.ts";
import { formatIPv4 } from "./netlink/ip.ts";
import { contains, formatSubnet, ipToU32, subnetOf } from "./addr.ts";
import { META, PAYLOAD_BASE } from "./netlink/nft_expr.ts";

/** A network namespace: its inode (what `ls -l /proc/PID/ns/net` shows) and where it was read. */
export interface NetnsRef {
  inode: number;
  /** "/proc/self/ns/net", "/proc/1234/ns/net". */
  path: string;
}

/** An interface as drawn. */
export interface TopoLink {
  index: number;
  name: string;
  kind?: string;
  mac?: string;
  mtu?: number;
  up: boolean;
  operState?: string;
  /** IPv4 addresses, "172.17.0.1/16". */
  addresses: string[];
}

/** A bridge of the host namespace, with the tsbox network it backs (if any). */
export interface TopoBridge extends TopoLink {
  /** tsbox network name, from the records (undefined: not tsbox's). */
  network?: string;
  /** The subnet of its address, "172.17.0.0/16". */
  subnet?: string;
  /** Names of its ports (veth host ends). */
  ports: string[];
  /** Forward-chain drop rules that keep it apart from other tsbox bridges. */
  isolation: { handle: number; comment: string }[];
  /** The postrouting masquerade (NAPT) of its subnet leaving through another interface. */
  masquerade?: { handle: number; comment: string };
}

/** One end of a veth pair. */
export interface VethEnd {
  name: string;
  index: number;
  mac?: string;
  up: boolean;
  addresses: string[];
  /** The namespace holding this end. */
  netns: NetnsRef;
}

/** A veth pair: the host end (on a bridge) and the peer in a container. */
export interface TopoVeth {
  host: VethEnd & { bridge?: string };
  peer?: VethEnd & { container: string; containerId: string };
}

/** A container with a network namespace of its own. */
export interface TopoContainer {
  id: string;
  name: string;
  pid: number;
  netns: NetnsRef;
  /** The container's interfaces but lo. */
  links: TopoLink[];
  /** Its eth0 (the veth peer), if any. */
  eth0?: TopoLink;
  /** The host end of its veth. */
  veth?: string;
  /** The bridge its veth is a port of. */
  bridge?: string;
}

/** A published port: a DNAT rule in chain `ports`. */
export interface TopoPort {
  proto: string;
  /** "0.0.0.0" when the rule matches any local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  /** Name of the container holding containerIp now. */
  container?: string;
  /** The rule's identity: `nft -a list chain ip tsbox ports` shows the handle. */
  rule: { table: string; chain: string; handle: number; comment?: string };
}

/** A live address translation (conntrack). */
export interface TopoTranslation {
  /** "snat": NAPT of a container's outbound connection; "dnat": a published port. */
  kind: "snat" | "dnat";
  proto: string;
  /** As the first packet was seen. */
  orig: Tuple;
  /** The reply as expected: its addresses are the rewritten ones. */
  reply: Tuple;
  /** Container side, "172.17.0.2:40000". */
  container: string;
  /** Host side after translation, "10.99.0.1:40001". */
  host: string;
  /** The other end, "10.99.0.2:9000". */
  peer: string;
  containerName?: string;
  state?: string;
  id?: number;
}

/** A tsbox network as recorded (for labels only). */
export interface NetworkLabel {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
}

/** The whole picture. */
export interface Topology {
  /** The namespace tsbox runs in ("host"). */
  netns: NetnsRef;
  /** Host interfaces that are neither bridges nor veths. */
  interfaces: TopoLink[];
  bridges: TopoBridge[];
  veths: TopoVeth[];
  containers: TopoContainer[];
  ports: TopoPort[];
  translations: TopoTranslation[];
  /** Pairs of tsbox bridges the forward chain keeps apart. */
  isolated: [string, string][];
  /** What could not be read (the error text), by source. */
  errors: Record<string, string>;
}

/** A container's namespace dump. */
export interface ContainerDump {
  id: string;
  name: string;
  pid: number;
  netns: NetnsRef;
  links: Link[];
  addresses: Address[];
}

/** The kernel dumps (and labels) a topology is assembled from. */
export interface TopologyInput {
  netns: NetnsRef;
  links: Link[];
  addresses: Address[];
  containers: ContainerDump[];
  /** Rules of tsbox's nftables table (all chains). */
  rules: NftRule[];
  conntrack: ConntrackEntry[];
  networks: NetworkLabel[];
  errors?: Record<string, string>;
}

function toLink(l: Link, addrs: readonly Address[]): TopoLink {
  return {
    index: l.index,
    name: l.name,
    ...(l.kind ? { kind: l.kind } : {}),
    ...(l.mac ? { mac: l.mac } : {}),
    ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
    up: l.up,
    ...(l.operState ? { operState: l.operState } : {}),
    addresses: addrs.filter((a) => a.index === l.index).map((a) => a.cidr),
  };
}

/** The subnet of an interface address: "172.17.0.1/16" -> "172.17.0.0/16". */
export function subnetOfCidr(cidr: string): string | undefined {
  const m = /^([\d.]+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  try {
    return formatSubnet(subnetOf(ipToU32(m[1]!), Number(m[2])));
  } catch {
    return undefined;
  }
}

function inCidr(cidr: string, ip: string): boolean {
  const m = /^([\d.]+)\/(\d+)$/.exec(cidr);
  if (!m) return false;
  try {
    return contains(subnetOf(ipToU32(m[1]!), Number(m[2])), ipToU32(ip));
  } catch {
    return false;
  }
}

/** A published port read back from a DNAT rule's expressions; undefined if it is not one. */
export function decodePortRule(rule: NftRule): Omit<TopoPort, "container"> | undefined {
  let hostIp = "0.0.0.0", proto = "", hostPort = 0, containerIp = "", containerPort = 0;
  let dnat = false;
  const regs = new Map<number, Uint8Array>();
  const ex = rule.exprs;
  for (let i = 0; i < ex.length; i++) {
    const e = ex[i]!;
    const next = ex[i + 1];
    if (e.kind === "payload" && next?.kind === "cmp" && next.op === "==") {
      if (e.base === PAYLOAD_BASE.network && e.offset === 16 && e.len === 4) {
        hostIp = formatIPv4(next.data);
      }
      if (e.base === PAYLOAD_BASE.transport && e.offset === 2 && e.len === 2) {
        hostPort = (next.data[0]! << 8) | next.data[1]!;
      }
    } else if (e.kind === "meta" && e.key === META.l4proto && next?.kind === "cmp") {
      proto = next.data[0] === 6 ? "tcp" : next.data[0] === 17 ? "udp" : String(next.data[0]);
    } else if (e.kind === "immediate") {
      regs.set(e.dreg, e.data);
    } else if (e.kind === "nat" && e.type === "dnat") {
      dnat = true;
      const a = e.addrReg !== undefined ? regs.get(e.addrReg) : undefined;
      const p = e.protoReg !== undefined ? regs.get(e.protoReg) : undefined;
      if (a?.length === 4) containerIp = formatIPv4(a);
      if (p?.length === 2) containerPort = (p[0]! << 8) | p[1]!;
    }
  }
  if (!dnat || !containerIp || !hostPort) return undefined;
  return {
    proto,
    hostIp,
    hostPort,
    containerIp,
    containerPort: containerPort || hostPort,
    rule: {
      table: rule.table,
      chain: rule.chain,
      handle: rule.handle,
      ...(rule.comment !== undefined ? { comment: rule.comment } : {}),
    },
  };
}

/** Whether a forward-chain rule is a network's isolation drop (iifname BR ... drop). */
function isolationOf(rule: NftRule): string | undefined {
  if (rule.chain !== "forward") return undefined;
  if (!rule.exprs.some((e) => e.kind === "verdict" && e.verdict === "drop")) return undefined;
  const ex = rule.exprs;
  for (let i = 0; i + 1 < ex.length; i++) {
    const e = ex[i]!, n = ex[i + 1]!;
    if (e.kind === "meta" && e.key === META.iifname && n.kind === "cmp" && n.op === "==") {
      return ifname(n.data);
    }
  }
  return undefined;
}

/** An interface name as a cmp expression holds it (NUL-padded). */
const ifname = (data: Uint8Array) => new TextDecoder().decode(data).replace(/\0.*$/s, "");

const hp = (ip: string, port: number | undefined) => (port === undefined ? ip : `${ip}:${port}`);

/**
 * The translation a conntrack entry shows for a container (an address
 * `isContainer` accepts): DNAT of a published port, or NAPT of its outbound
 * connection. Undefined for entries without NAT or of other addresses.
 */
export function translationOf(
  e: ConntrackEntry,
  isContainer: (ip: string) => boolean,
): Omit<TopoTranslation, "containerName"> | undefined {
  const kinds = natKinds(e);
  const base = {
    proto: e.proto,
    orig: e.orig,
    reply: e.reply,
    ...(e.tcpState ? { state: e.tcpState } : {}),
    ...(e.id !== undefined ? { id: e.id } : {}),
  };
  if (kinds.includes("dnat") && isContainer(e.reply.src)) {
    return {
      kind: "dnat",
      ...base,
      container: hp(e.reply.src, e.reply.sport),
      host: hp(e.orig.dst, e.orig.dport),
      peer: hp(e.orig.src, e.orig.sport),
    };
  }
  if (kinds.includes("snat") && isContainer(e.orig.src)) {
    return {
      kind: "snat",
      ...base,
      container: hp(e.orig.src, e.orig.sport),
      host: hp(e.reply.dst, e.reply.dport),
      peer: hp(e.orig.dst, e.orig.dport),
    };
  }
  return undefined;
}

/** Assembles the topology from kernel dumps (pure). */
export function assembleTopology(input: TopologyInput): Topology {
  const byIndex = new Map(input.links.map((l) => [l.index, l]));
  const bridgesByNet = new Map(input.networks.map((n) => [n.bridge, n]));
  const isolationRules = input.rules.map((r) => ({ r, br: isolationOf(r) })).filter((x) => x.br);
  // `ip saddr SUBNET oifname != BR masquerade`: the first masq rule that names BR with "!=".
  const masq = (br: string) => {
    const r = input.rules.find((r) =>
      r.chain === "postrouting" && r.exprs.some((e) => e.kind === "masq") &&
      r.exprs.some((e, i) => {
        const n = r.exprs[i + 1];
        return e.kind === "meta" && e.key === META.oifname && n?.kind === "cmp" &&
          n.op === "!=" && ifname(n.data) === br;
      })
    );
    return r && { handle: r.handle, comment: r.comment ?? "" };
  };
  const bridges: TopoBridge[] = input.links.filter((l) => l.kind === "bridge").map((l) => {
    const link = toLink(l, input.addresses);
    const label = bridgesByNet.get(l.name);
    const first = link.addresses[0];
    const subnet = label?.subnet ?? (first ? subnetOfCidr(first) : undefined);
    return {
      ...link,
      ...(label ? { network: label.name } : {}),
      ...(subnet ? { subnet } : {}),
      ports: input.links.filter((p) => p.master === l.index).map((p) => p.name),
      isolation: isolationRules.filter((x) => x.br === l.name).map((x) => ({
        handle: x.r.handle,
        comment: x.r.comment ?? "",
      })),
      ...(masq(l.name) ? { masquerade: masq(l.name)! } : {}),
    };
  });
  const containers: TopoContainer[] = [];
  const veths: TopoVeth[] = [];
  const claimed = new Set<number>();
  for (const c of input.containers) {
    const links = c.links.filter((l) => l.name !== "lo").map((l) => toLink(l, c.addresses));
    const tc: TopoContainer = { id: c.id, name: c.name, pid: c.pid, netns: c.netns, links };
    for (const l of c.links) {
      if (l.kind !== "veth" || l.parent === undefined) continue;
      const hostEnd = byIndex.get(l.parent);
      if (!hostEnd || hostEnd.kind !== "veth" || hostEnd.parent !== l.index) continue;
      claimed.add(hostEnd.index);
      const bridge = hostEnd.master !== undefined ? byIndex.get(hostEnd.master)?.name : undefined;
      const peerLink = toLink(l, c.addresses);
      if (l.name === "eth0" || !tc.eth0) tc.eth0 = peerLink;
      tc.veth = hostEnd.name;
      if (bridge) tc.bridge = bridge;
      veths.push({
        host: {
          name: hostEnd.name,
          index: hostEnd.index,
          ...(hostEnd.mac ? { mac: hostEnd.mac } : {}),
          up: hostEnd.up,
          addresses: toLink(hostEnd, input.addresses).addresses,
          netns: input.netns,
          ...(bridge ? { bridge } : {}),
        },
        peer: {
          name: l.name,
          index: l.index,
          ...(l.mac ? { mac: l.mac } : {}),
          up: l.up,
          addresses: peerLink.addresses,
          netns: c.netns,
          container: c.name,
          containerId: c.id,
        },
      });
    }
    containers.push(tc);
  }
  // Host veths whose peer is in no container we know (another program's, or one being made).
  for (const l of input.links) {
    if (l.kind !== "veth" || claimed.has(l.index)) continue;
    const bridge = l.master !== undefined ? byIndex.get(l.master)?.name : undefined;
    if (!bridge || !bridgesByNet.has(bridge)) continue;
    veths.push({
      host: {
        name: l.name,
        index: l.index,
        ...(l.mac ? { mac: l.mac } : {}),
        up: l.up,
        addresses: [],
        netns: input.netns,
        bridge,
      },
    });
  }
  const addrOwner = new Map<string, string>();
  for (const c of containers) {
    for (const l of c.links) for (const a of l.addresses) addrOwner.set(a.split("/")[0]!, c.name);
  }
  const ports: TopoPort[] = [];
  for (const r of input.rules) {
    if (r.chain !== "ports") continue;
    const p = decodePortRule(r);
    if (!p) continue;
    const owner = addrOwner.get(p.containerIp);
    ports.push({ ...p, ...(owner ? { container: owner } : {}) });
  }
  const subnets = bridges.filter((b) => b.network && b.subnet).map((b) => b.subnet!);
  const isContainer = (ip: string) => addrOwner.has(ip) || subnets.some((s) => inCidr(s, ip));
  const translations: TopoTranslation[] = [];
  for (const e of input.conntrack) {
    const t = translationOf(e, isContainer);
    if (!t) continue;
    const ip = t.container.split(":")[0]!;
    const owner = addrOwner.get(ip);
    translations.push({ ...t, ...(owner ? { containerName: owner } : {}) });
  }
  const drawn = new Set(veths.map((v) => v.host.index));
  const tsboxBridges = bridges.filter((b) => b.network);
  const isolated: [string, string][] = [];
  for (let i = 0; i < tsboxBridges.length; i++) {
    for (let j = i + 1; j < tsboxBridges.length; j++) {
      const a = tsboxBridges[i]!, b = tsboxBridges[j]!;
      // Each side's drop covers its own egress to every other tsbox* bridge.
      if (a.isolation.length && b.isolation.length) isolated.push([a.name, b.name]);
    }
  }
  return {
    netns: input.netns,
    interfaces: input.links.filter((l) => l.kind !== "bridge" && !drawn.has(l.index)).map((l) =>
      toLink(l, input.addresses)
    ),
    bridges,
    veths,
    containers,
    ports,
    translations,
    isolated,
    errors: input.errors ?? {},
  };
}

/**
 * The part of `t` that concerns one network: its bridge, the veths and
 * containers on it, their ports and translations, and its isolation.
 */
export function filterTopology(t: Topology, bridge: string): Topology {
  const containers = t.containers.filter((c) => c.bridge === bridge);
  const names = new Set(containers.map((c) => c.name));
  const bridges = t.bridges.filter((b) => b.name === bridge);
  const subnet = bridges[0]?.subnet;
  return {
    ...t,
    bridges,
    veths: t.veths.filter((v) => v.host.bridge === bridge),
    containers,
    ports: t.ports.filter((p) =>
      (p.container && names.has(p.container)) || (subnet && inCidr(subnet, p.containerIp))
    ),
    translations: t.translations.filter((x) =>
      (x.containerName && names.has(x.containerName)) ||
      (subnet && inCidr(subnet, x.container.split(":")[0]!))
    ),
    isolated: t.isolated.filter(([a, b]) => a === bridge || b === bridge),
  };
}
