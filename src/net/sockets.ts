// The netlink sockets tsbox uses in the network namespace it runs in (the
// "host" side: bridge, veths, nftables, conntrack), opened on first use and
// kept for the life of the process: a CLI run makes several requests on
// each, and a long-running supervisor reuses them for every container.
// Sockets inside a container's namespace are opened per use instead (they
// die with the namespace). See netlink(7), socket.ts.

import { NETLINK_NETFILTER, NETLINK_ROUTE } from "../../ffi/constants.ts";
import { NetlinkSocket } from "./netlink/socket.ts";

let route: NetlinkSocket | undefined;
let netfilter: NetlinkSocket | undefined;

/** The process's NETLINK_ROUTE socket in its own namespace. Do not close it. */
export function hostRoute(): NetlinkSocket {
  return route ??= NetlinkSocket.open(NETLINK_ROUTE);
}

/** The process's NETLINK_NETFILTER socket in its own namespace. Do not close it. */
export function hostNetfilter(): NetlinkSocket {
  return netfilter ??= NetlinkSocket.open(NETLINK_NETFILTER);
}

/** Closes both (for in-process tests and benchmarks that check their fds). */
export function closeHostSockets(): void {
  route?.close();
  netfilter?.close();
  route = netfilter = undefined;
}
