// /etc/hosts of containers on a network: the container's own address and
// name, and on a user network its peers' names, so they reach each other by
// name (Docker answers those from its embedded DNS; tsbox writes them down).
// The file is bind-mounted into the container, so it is rewritten in place
// (open with O_TRUNC and write), never replaced by rename, which the mount
// would not see. Rewrites happen inside a state transaction, so concurrent
// joins and leaves serialize and the last writer saw every lease.
// See hosts(5), etc_files.ts for the rest of the file.

import { containerHosts } from "../container/etc_files.ts";
import { containerDir } from "../paths.ts";
import { state } from "../state/db.ts";
import { DEFAULT_NETWORK } from "./network.ts";

/** One container attached to a network, as the hosts file shows it. */
export interface HostsMember {
  id: string;
  name: string;
  hostname: string;
  address: string;
}

/**
 * The hosts file of `self`: its address with its hostname (and, on a user
 * network, its name), then each peer's address and name (user networks only).
 */
export function hostsFor(
  self: HostsMember,
  peers: readonly HostsMember[],
  userNetwork: boolean,
): string {
  const own = userNetwork && self.name !== self.hostname
    ? [self.address, self.hostname, self.name]
    : [self.address, self.hostname];
  const others = userNetwork
    ? peers.filter((p) => p.id !== self.id).map((p) => [p.address, p.name])
    : [];
  return containerHosts([own, ...others]);
}

/** Writes a bind-mounted file in place (same inode); a missing file is skipped. */
export function writeInPlace(path: string, text: string): void {
  try {
    Deno.writeTextFileSync(path, text); // O_WRONLY|O_CREAT|O_TRUNC: same inode
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e; // its container is being removed
  }
}

/** The members of a network: its leases, with names and hostnames. */
export function membersOf(network: string): HostsMember[] {
  return state().all<{ id: string; name: string | null; hostname: string | null; address: string }>(
    `SELECT l.container_id AS id, c.name AS name, json_extract(c.config, '$.spec.hostname') AS hostname,
            l.address AS address
       FROM leases l LEFT JOIN containers c ON c.id = l.container_id
      WHERE l.network = ? ORDER BY l.address`,
    network,
  ).filter((r) => r.name !== null).map((r) => ({
    id: r.id,
    name: r.name!,
    hostname: r.hostname ?? r.id.slice(0, 12),
    address: r.address,
  }));
}

/**
 * Rewrites the hosts file of every container on `network` (only its own on
 * the default network, whose containers do not resolve each other by name).
 * `onlyId` limits the rewrite to one container.
 */
export function refreshHosts(network: string, onlyId?: string): void {
  const user = network !== DEFAULT_NETWORK.name;
  state().tx(() => {
    const members = membersOf(network);
    for (const m of members) {
      if (onlyId !== undefined && m.id !== onlyId) continue;
      writeInPlace(`${containerDir(m.id)}/hosts`, hostsFor(m, members, user));
    }
  });
}
