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
//
// Kernel objects are removed in the namespace tsbox runs in (the one the
// container was started from).

import type { Resource } from "../state/containers.ts";
import { state } from "../state/db.ts";
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
};

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
    default:
      return; // "port:" reservations: forgetting the record is the undo
  }
}
