// What `tsbox network inspect` shows: the network as Docker prints it (Name,
// Id, Driver, IPAM config, Containers with their addresses), plus the live
// address translations of its containers, read from the conntrack table over
// NETLINK_NETFILTER in the namespace tsbox runs in:
//
//   masquerade (container -> outside): orig  172.17.0.2:40000 -> 10.99.0.2:9000
//                                      reply 10.99.0.2:9000   -> 10.99.0.1:40001
//   published port (outside -> container): orig  10.99.0.2:51000 -> 10.99.0.1:8080
//                                          reply 172.17.0.2:80   -> 10.99.0.2:51000
// Both read "container address:port -> host address:port -> peer".
// See conntrack(8), conntrack.ts.

import { contains, formatSubnet, ipToU32, macForAddress, type Subnet } from "./addr.ts";
import { leasesOf } from "./ipam.ts";
import { hostNetfilter } from "./sockets.ts";
import { type ConntrackEntry, dumpConntrack, natKinds } from "./netlink/conntrack.ts";
import type { Network } from "./network.ts";
import { state } from "../state/db.ts";

/** One translated connection of a container. */
export interface Translation {
  /** "snat" (the container connected out) or "dnat" (a published port). */
  Kind: "snat" | "dnat";
  Protocol: string;
  Container: string;
  /** The container's side, "172.17.0.2:40000". */
  ContainerAddress: string;
  /** What the peer sees, "10.99.0.1:40001". */
  HostAddress: string;
  /** The other end, "10.99.0.2:9000". */
  Peer: string;
  /** TCP state, when TCP. */
  State?: string;
  /** "172.17.0.2:40000 -> 10.99.0.1:40001 -> 10.99.0.2:9000" */
  Text: string;
}

const hp = (ip: string, port: number | undefined) => (port === undefined ? ip : `${ip}:${port}`);

function inSubnet(s: Subnet, ip: string): boolean {
  try {
    return contains(s, ipToU32(ip));
  } catch {
    return false; // IPv6
  }
}

/**
 * The translations of `subnet`'s containers among conntrack entries (pure,
 * for tests). `names` maps the addresses leased now to container names;
 * entries of other addresses (containers gone meanwhile) are left out.
 */
export function translationsOf(
  entries: readonly ConntrackEntry[],
  subnet: Subnet,
  names: ReadonlyMap<string, string>,
): Translation[] {
  const out: Translation[] = [];
  for (const e of entries) {
    const kinds = natKinds(e);
    let t: Omit<Translation, "Text" | "Protocol" | "Container" | "Kind"> | undefined;
    let kind: "snat" | "dnat" | undefined;
    let cip = "";
    if (kinds.includes("dnat") && inSubnet(subnet, e.reply.src)) {
      kind = "dnat";
      cip = e.reply.src;
      t = {
        ContainerAddress: hp(e.reply.src, e.reply.sport),
        HostAddress: hp(e.orig.dst, e.orig.dport),
        Peer: hp(e.orig.src, e.orig.sport),
      };
    } else if (kinds.includes("snat") && inSubnet(subnet, e.orig.src)) {
      kind = "snat";
      cip = e.orig.src;
      t = {
        ContainerAddress: hp(e.orig.src, e.orig.sport),
        HostAddress: hp(e.reply.dst, e.reply.dport),
        Peer: hp(e.orig.dst, e.orig.dport),
      };
    }
    if (!t || !kind || !names.has(cip)) continue; // not one of its containers now
    out.push({
      Kind: kind,
      Protocol: e.proto,
      Container: names.get(cip)!,
      ...t,
      ...(e.tcpState ? { State: e.tcpState } : {}),
      Text: `${t.ContainerAddress} -> ${t.HostAddress} -> ${t.Peer}`,
    });
  }
  return out;
}

/** The JSON object `network inspect` prints for one network. */
export function inspectNetwork(net: Network): Record<string, unknown> {
  const st = state();
  const containers: Record<string, unknown> = {};
  const names = new Map<string, string>();
  for (const l of leasesOf(st, net.name)) {
    const name = st.get<{ name: string }>("SELECT name FROM containers WHERE id = ?", l.containerId)
      ?.name ?? "";
    names.set(l.address, name);
    containers[l.containerId] = {
      Name: name,
      MacAddress: macForAddress(l.address),
      IPv4Address: `${l.address}/${net.subnet.prefixLen}`,
      IPv6Address: "",
    };
  }
  let translations: Translation[] = [];
  let conntrackError: string | undefined;
  try {
    translations = translationsOf(dumpConntrack(hostNetfilter()), net.subnet, names);
  } catch (e) {
    conntrackError = e instanceof Error ? e.message : String(e);
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: "local",
    Driver: net.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: "default",
      Options: {},
      Config: [{ Subnet: formatSubnet(net.subnet), Gateway: net.gateway }],
    },
    Internal: false,
    Containers: containers,
    Options: { "com.docker.network.bridge.name": net.bridge },
    Labels: {},
    Translations: translations,
    ...(conntrackError ? { TranslationsError: conntrackError } : {}),
  };
}
