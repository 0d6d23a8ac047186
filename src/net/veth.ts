// A container's link to its network: a veth pair made in the host's
// namespace with its peer created directly inside the container's namespace
// (IFLA_NET_NS_FD of /proc/PID/ns/net, so it never appears on the host), then
// the container side configured through a netlink socket opened inside that
// namespace: address and default route. Over NETLINK_ROUTE with the netlink
// library. See veth(4), ip-link(8), rtnetlink(7).
//
// One RTM_NEWLINK does what `ip link add vethX up master BR type veth peer
// eth0 address MAC netns NS` does: the peer is named eth0 from the start (the
// name is checked in the peer's namespace, where only lo exists), so no
// rename is needed. The peer is brought up from inside (see createVeth).

import { Errno } from "../../ffi/errno.ts";
import { TsboxError } from "../errors.ts";
import { macForAddress } from "./addr.ts";
import {
  configureLink,
  createVeth,
  deleteLink,
  linkIndex,
  setBridgePortHairpin,
} from "./netlink/route.ts";
import { NetlinkError, type NetlinkSocket } from "./netlink/socket.ts";

/** The container side's name. */
export const CONTAINER_IFNAME = "eth0";

/** The host side's name: "veth" + the first 7 hex digits of the container id. */
export function vethName(containerId: string): string {
  return `veth${containerId.slice(0, 7)}`;
}

/** What `plugVeth` needs. */
export interface VethPlug {
  /** Host side name. */
  name: string;
  /** ifindex of the bridge to attach the host side to. */
  bridgeIndex: number;
  /** fd of the container's network namespace. */
  netnsFd: number;
  /** The container's address (its MAC is derived from it). */
  address: string;
  /**
   * Hairpin mode on the bridge port: lets the bridge send a frame back out
   * of the port it came in on. A container reaching its own published port
   * through the host's address needs it when br_netfilter makes the bridge
   * apply the DNAT (net.bridge.bridge-nf-call-iptables=1), as Docker does.
   */
  hairpin?: boolean;
}

/**
 * Creates the pair: host side up and a port of the bridge, container side
 * `eth0` (down) in the container's namespace with its MAC. Returns the
 * peer's ifindex in the container's namespace when the kernel echoed it.
 * Needs CAP_NET_ADMIN in both namespaces.
 */
export function plugVeth(host: NetlinkSocket, p: VethPlug): { peerIndex?: number } {
  const echoed = createVeth(host, {
    name: p.name,
    peerName: CONTAINER_IFNAME,
    peerNetnsFd: p.netnsFd,
    peerMac: macForAddress(p.address),
    master: p.bridgeIndex,
    up: true,
  });
  if (p.hairpin) setBridgePortHairpin(host, echoed?.index ?? p.name, true);
  return echoed?.parent !== undefined ? { peerIndex: echoed.parent } : {};
}

/**
 * Brings the container side up and gives it its address and default route,
 * in one round trip, through a socket opened inside the container's
 * namespace. `peerIndex` saves looking eth0 up by name.
 */
export function configureContainerSide(
  inner: NetlinkSocket,
  cfg: { address: string; prefixLen: number; gateway: string; peerIndex?: number },
): void {
  const index = cfg.peerIndex ?? linkIndex(inner, CONTAINER_IFNAME);
  configureLink(inner, index, {
    up: true,
    address: `${cfg.address}/${cfg.prefixLen}`,
    gateway: cfg.gateway,
  });
}

/**
 * Deletes the host side (the peer goes with it); a missing link is not an
 * error: the kernel removes the pair itself when the container's namespace
 * dies with its last process.
 */
export function deleteVeth(host: NetlinkSocket, name: string): void {
  try {
    deleteLink(host, name);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return;
    throw new TsboxError(`delete veth ${name}`, { cause: e });
  }
}
