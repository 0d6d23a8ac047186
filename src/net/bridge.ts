// A network's bridge in the namespace tsbox runs in: the link, its gateway
// address, a fixed MAC, the sysctls forwarding and published ports on
// 127.0.0.1 need, and its removal. Over NETLINK_ROUTE and /proc/sys with the
// netlink library. See ip-link(8) "type bridge", ip-sysctl.rst
// (ip_forward, route_localnet).
//
// route_localnet stays 0 on a new bridge: it lets packets to and from
// 127.0.0.0/8 be routed through the bridge, which only a port the host
// reaches on 127.0.0.1 needs (nat.ts), so it is turned on while a container
// of the network publishes one (attach.ts) and off after the last one. The
// input chain of nat.ts keeps the host's loopback services out of reach
// meanwhile (CVE-2020-8558).
//
// A bridge without an explicit MAC takes the lowest MAC of its ports, so it
// would change as containers come and go and leave stale gateway entries in
// their ARP caches; it gets 02:42 + the gateway address instead, as Docker's
// containers get 02:42 + theirs.

import { Errno } from "../../ffi/errno.ts";
import { SyscallError } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { macForAddress } from "./addr.ts";
import {
  addAddress,
  createBridge,
  deleteLink,
  getLink,
  type Link,
  setLinkUp,
} from "./netlink/route.ts";
import { NetlinkError, type NetlinkSocket } from "./netlink/socket.ts";
import { readSysctl, writeSysctl } from "./netlink/sysctl.ts";

/** A bridge to set up. */
export interface BridgeSpec {
  /** Interface name, e.g. "tsbox0". */
  name: string;
  /** The host's address on it, e.g. "172.17.0.1". */
  gateway: string;
  /** Prefix length of the network, e.g. 16. */
  prefixLen: number;
}

/** The bridge if it exists and is up (the last step of `setupBridge`), else undefined. */
export function readyBridge(sock: NetlinkSocket, name: string): Link | undefined {
  const link = getLink(sock, name);
  return link && link.up ? link : undefined;
}

/** Turns on IPv4 forwarding in the current namespace if it is off. */
export function enableForwarding(): void {
  if (readSysctl("net.ipv4.ip_forward") !== "1") writeSysctl("net.ipv4.ip_forward", "1");
}

/**
 * Creates (or completes, after an interrupted setup) the bridge: link with
 * its MAC, gateway address, then up. Up is last, so a bridge that is up is
 * complete. Returns the link. Needs CAP_NET_ADMIN.
 */
export function setupBridge(sock: NetlinkSocket, spec: BridgeSpec): Link {
  try {
    let link = getLink(sock, spec.name);
    if (link && link.kind !== "bridge") {
      throw new TsboxError(`interface ${spec.name} exists and is not a bridge`);
    }
    if (!link) {
      createBridge(sock, { name: spec.name, mac: macForAddress(spec.gateway) });
    }
    try {
      addAddress(sock, spec.name, `${spec.gateway}/${spec.prefixLen}`);
    } catch (e) {
      if (!(e instanceof NetlinkError && e.errno === Errno.EEXIST)) throw e;
    }
    setLinkUp(sock, spec.name);
    link = getLink(sock, spec.name);
    if (!link) throw new TsboxError(`bridge ${spec.name} vanished while it was set up`);
    return link;
  } catch (e) {
    throw new TsboxError(`set up bridge ${spec.name}`, { cause: e });
  }
}

/**
 * Turns net.ipv4.conf.BRIDGE.route_localnet on or off (for ports published
 * on 127.0.0.1 and 0.0.0.0, see the header). A missing bridge is fine when
 * turning it off. Needs CAP_NET_ADMIN.
 */
export function setRouteLocalnet(bridge: string, on: boolean): void {
  const name = `net/ipv4/conf/${bridge}/route_localnet`;
  try {
    if (readSysctl(name) !== (on ? "1" : "0")) writeSysctl(name, on ? "1" : "0");
  } catch (e) {
    if (!on && e instanceof SyscallError && e.errno === Errno.ENOENT) return;
    throw new TsboxError(`set route_localnet of ${bridge} to ${on ? 1 : 0}`, { cause: e });
  }
}

/** Deletes a bridge; a missing one is not an error. */
export function deleteBridge(sock: NetlinkSocket, name: string): void {
  try {
    deleteLink(sock, name);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return;
    throw new TsboxError(`delete bridge ${name}`, { cause: e });
  }
}
