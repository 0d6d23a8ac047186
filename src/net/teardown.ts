// Undoing what a container's network setup recorded, one resource at a time
// (src/container/remove.ts walks the records, newest first, and calls this
// for kind "network"). Every undo is idempotent, so teardown works after a
// crash at any point of the setup and may run twice:
//
//   key                          undo
//   lease:NET:ADDRESS            delete the lease row; rewrite the peers' /etc/hosts;
//                                delete the address's conntrack entries
//   port:PROTO:HOSTIP:HOSTPORT   nothing in the kernel (a reservation in state only)
//   veth:NAME                    RTM_DELLINK NAME (ENODEV: gone with the namespace)
//   nft:CONTAINER_ID             delete the rules commented "tsbox:ID" in chain ports
//   localnet:NET                 route_localnet of NET's bridge back to 0, unless another
//                                container holds localnet:NET (under the network lock)
//
// Kernel objects are removed in the namespace tsbox runs in (the one the
// container was started from).

import type { Resource } from "../state/containers.ts";
import { state } from "../state/db.ts";
import { setRouteLocalnet } from "./bridge.ts";
import { withNetworkLock } from "./lock.ts";
import { ANY_IP } from "./ports.ts";
import { NETWORK_KIND } from "./reservations.ts";
import { refreshHosts } from "./hosts.ts";
import { releaseLease } from "./ipam.ts";
import { deleteConntrackOf } from "./netlink/conntrack.ts";
import { getNetwork } from "./network.ts";
import { removePortRules } from "./portmap.ts";
import { hostNetfilter, hostRoute } from "./sockets.ts";
import { deleteVeth } from "./veth.ts";

/** Resource keys of a container's network setup. */
export const resourceKey = {
  lease: (network: string, address: string) => `lease:${network}:${address}`,
  veth: (name: string) => `veth:${name}`,
  nft: (containerId: string) => `nft:${containerId}`,
  localnet: (network: string) => `localnet:${network}`,
};

/** Whether a port published on `hostIp` is reached from the host on 127.0.0.1 (0.0.0.0 or 127/8). */
export function needsRouteLocalnet(hostIp: string): boolean {
  return hostIp === ANY_IP || hostIp.startsWith("127.");
}

/** Whether a container other than `containerId` holds resource `key` (kind "network"). */
function heldByAnother(containerId: string, key: string): boolean {
  return state().all(
    "SELECT 1 FROM resources WHERE kind = ? AND key = ? AND container_id != ? LIMIT 1",
    NETWORK_KIND,
    key,
    containerId,
  ).length > 0;
}

/** Undoes one "network" resource of container `containerId`. */
export function undoNetworkResource(containerId: string, r: Resource): void {
  const colon = r.key.indexOf(":");
  const type = r.key.slice(0, colon), rest = r.key.slice(colon + 1);
  switch (type) {
    case "lease": {
      const network = String(r.data.network ?? rest.slice(0, rest.lastIndexOf(":")));
      const address = String(r.data.address ?? rest.slice(rest.lastIndexOf(":") + 1));
      const st = state();
      st.tx(() => releaseLease(st, network, address, containerId));
      if (getNetwork(network)) refreshHosts(network);
      try {
        // Else a UDP flow to a published port keeps its DNAT to this address
        // (as with Docker, which flushes them too) until it idles out.
        deleteConntrackOf(hostNetfilter(), address);
      } catch { /* no conntrack here (nf_conntrack_netlink absent): nothing to flush */ }
      return;
    }
    case "veth": {
      deleteVeth(hostRoute(), rest);
      return;
    }
    case "nft": {
      removePortRules(hostNetfilter(), rest);
      return;
    }
    case "localnet": {
      const bridge = String(r.data.bridge ?? getNetwork(rest)?.bridge ?? "");
      if (!bridge) return;
      withNetworkLock(() => {
        if (!heldByAnother(containerId, r.key)) setRouteLocalnet(bridge, false);
      });
      return;
    }
    default:
      return; // "port:" reservations: forgetting the record is the undo
  }
}
