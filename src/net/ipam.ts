// IP address management: which address of a network a container gets. Leases
// live in the state database (table leases, PRIMARY KEY (network, address)),
// so they survive tsbox and stay unique under concurrent `run`s: the lease is
// read and written inside one write transaction (BEGIN IMMEDIATE), and the
// primary key refuses a duplicate even if that were ever not so. Released
// with the container (teardown.ts). Pure picking is separate and tested.
//
// Allocation is serial: the next free address after the one handed out last
// (kept in the network's options as lastAddress), wrapping to the lowest
// free one. A just-released address is thus not handed out again at once, so
// stale ARP and conntrack entries for it have time to expire (Docker's IPAM
// allocates serially for the same reason).

import { TsboxError } from "../errors.ts";
import type { State } from "../state/db.ts";
import { formatSubnet, hostRange, ipToU32, type Subnet, u32ToIp } from "./addr.ts";

/**
 * Picks a free address of `subnet` (never the network, broadcast or
 * `gateway` address): the lowest free one after `after` (default: the
 * highest in `used`), or else the lowest free one. Undefined when the subnet
 * is full.
 *
 * @example pickAddress(parseSubnet("10.0.0.0/29"), 0x0a000001, new Set([0x0a000002])) // 10.0.0.3
 */
export function pickAddress(
  subnet: Subnet,
  gateway: number,
  used: ReadonlySet<number>,
  after?: number,
): number | undefined {
  const { first, last } = hostRange(subnet);
  const taken = (a: number) => a === gateway || used.has(a);
  let high = first - 1;
  if (after !== undefined && after >= first && after <= last) high = after;
  else for (const u of used) if (u > high && u <= last) high = u;
  for (let a = high + 1; a <= last; a++) if (!taken(a)) return a;
  for (let a = first; a <= high; a++) if (!taken(a)) return a;
  return undefined;
}

/** What IPAM needs to know of a network. */
export interface IpamNetwork {
  name: string;
  subnet: Subnet;
  /** The gateway (the bridge's address), as text. */
  gateway: string;
}

/**
 * Leases an address of `net` to `containerId`. Call inside `state().tx()`:
 * the read of the current leases and the insert must be one transaction.
 * Throws when the network has no free address left.
 */
export function leaseAddress(st: State, net: IpamNetwork, containerId: string): string {
  const rows = st.all<{ address: string }>(
    "SELECT address FROM leases WHERE network = ?",
    net.name,
  );
  const used = new Set(rows.map((r) => ipToU32(r.address)));
  const opts = JSON.parse(
    st.get<{ options: string }>("SELECT options FROM networks WHERE name = ?", net.name)?.options ??
      "{}",
  ) as { lastAddress?: string };
  const after = opts.lastAddress ? ipToU32(opts.lastAddress) : undefined;
  const picked = pickAddress(net.subnet, ipToU32(net.gateway), used, after);
  if (picked === undefined) {
    throw new TsboxError(
      `no available IPv4 address on network ${net.name} (${
        formatSubnet(net.subnet)
      }): all ${used.size} addresses are in use`,
    );
  }
  const address = u32ToIp(picked);
  st.run(
    "INSERT INTO leases (network, address, container_id) VALUES (?, ?, ?)",
    net.name,
    address,
    containerId,
  );
  st.run(
    "UPDATE networks SET options = ? WHERE name = ?",
    JSON.stringify({ ...opts, lastAddress: address }),
    net.name,
  );
  return address;
}

/** Releases a lease (idempotent: a missing lease is not an error). */
export function releaseLease(
  st: State,
  network: string,
  address: string,
  containerId: string,
): void {
  st.run(
    "DELETE FROM leases WHERE network = ? AND address = ? AND container_id = ?",
    network,
    address,
    containerId,
  );
}

/** The leases of a network: address -> container id. */
export function leasesOf(st: State, network: string): { address: string; containerId: string }[] {
  return st.all<{ address: string; container_id: string }>(
    "SELECT address, container_id FROM leases WHERE network = ? ORDER BY address",
    network,
  ).map((r) => ({ address: r.address, containerId: r.container_id }));
}
