// The live network topology of the namespace tsbox runs in, read from the
// kernel (not from tsbox's records): links and IPv4 addresses over
// NETLINK_ROUTE (RTM_GETLINK / RTM_GETADDR dumps) in this namespace and in
// each running container's (a socket opened in /proc/PID/ns/net), the rules
// of tsbox's nftables table and the conntrack table over NETLINK_NETFILTER.
// Records only name what the kernel shows (network and container names).
// topology_model.ts assembles the dumps; front ends render the result.
// Needs CAP_NET_ADMIN (conntrack, nftables) and CAP_SYS_ADMIN (the
// containers' namespaces). See rtnetlink(7), conntrack(8), nft(8).

import { NETLINK_ROUTE } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { formatError } from "../errors.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { formatSubnet } from "./addr.ts";
import { dumpConntrack } from "./netlink/conntrack.ts";
import { closeFd, openNetns } from "./netlink/netns.ts";
import { listRules, type NftRule } from "./netlink/nftables.ts";
import { listAddresses, listLinks } from "./netlink/route.ts";
import { NetlinkError, NetlinkSocket } from "./netlink/socket.ts";
import { TABLE } from "./nat.ts";
import { listNetworks } from "./network.ts";
import { hostNetfilter, hostRoute } from "./sockets.ts";
import {
  assembleTopology,
  type ContainerDump,
  filterTopology,
  type NetnsRef,
  type Topology,
} from "./topology_model.ts";

export type { Topology } from "./topology_model.ts";

/** The namespace file of `pid` ("self" for this process) and its inode. */
export function netnsOf(pid: number | "self"): NetnsRef | undefined {
  const path = `/proc/${pid}/ns/net`;
  try {
    return { inode: Deno.statSync(path).ino ?? 0, path };
  } catch {
    return undefined;
  }
}

/** Links and addresses of a container's own network namespace; undefined when it shares ours. */
function dumpContainer(rec: ContainerRecord, own: NetnsRef): ContainerDump | undefined {
  if (!rec.pid) return undefined;
  const ns = netnsOf(rec.pid);
  if (!ns || ns.inode === own.inode) return undefined;
  const fd = openNetns(ns.path);
  try {
    using sock = NetlinkSocket.open(NETLINK_ROUTE, { netns: fd });
    return {
      id: rec.id,
      name: rec.name,
      pid: rec.pid,
      netns: ns,
      links: listLinks(sock),
      addresses: listAddresses(sock),
    };
  } finally {
    closeFd(fd);
  }
}

function tableRules(): NftRule[] {
  try {
    return listRules(hostNetfilter(), TABLE.family, TABLE.name);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENOENT) return []; // no network yet
    throw e;
  }
}

/**
 * Reads the topology now. `running` are the containers to look into (running
 * or paused, with their pid); `network`, a network name, narrows the picture
 * to its bridge. Parts that cannot be read are left empty and named in
 * `errors`.
 *
 * @example const t = readTopology(runningContainers()); t.veths[0]?.peer?.netns.inode
 */
export function readTopology(running: readonly ContainerRecord[], network?: string): Topology {
  const own = netnsOf("self")!;
  const errors: Record<string, string> = {};
  const attempt = <T>(what: string, fallback: T, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      errors[what] = formatError(e);
      return fallback;
    }
  };
  const route = hostRoute();
  const links = listLinks(route);
  const addresses = listAddresses(route);
  const containers: ContainerDump[] = [];
  for (const rec of running) {
    const d = attempt(`container ${rec.name}`, undefined, () => dumpContainer(rec, own));
    if (d) containers.push(d);
  }
  const networks = listNetworks().map((n) => ({
    name: n.name,
    bridge: n.bridge,
    subnet: formatSubnet(n.subnet),
    gateway: n.gateway,
  }));
  const topo = assembleTopology({
    netns: own,
    links,
    addresses,
    containers,
    rules: attempt("nftables table ip tsbox", [], tableRules),
    conntrack: attempt("conntrack", [], () => dumpConntrack(hostNetfilter())),
    networks,
    errors,
  });
  if (network === undefined) return topo;
  const bridge = networks.find((n) => n.name === network)?.bridge;
  return filterTopology(topo, bridge ?? network);
}
