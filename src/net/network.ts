// Networks: the default `bridge` network and user networks made with
// `tsbox network create`, recorded in the state database (table networks),
// and their kernel side in the namespace tsbox runs in: a bridge
// (bridge.ts) and the network's nftables rules (nat.ts).
//
// Lifecycle (one tsbox root per network namespace):
//   - `bridge` (tsbox0, 172.17.0.0/16) is recorded and built on first use by
//     a container; user networks when created. Either is rebuilt on use if
//     its bridge is missing (a reboot, a fresh namespace).
//   - `network rm NAME` removes the bridge and the network's rules, refused
//     while a container holds an address on it. The default network may be
//     removed too when unused (it comes back on next use): when the last
//     network is gone, tsbox's nftables table goes with it.
// Kernel objects of a network have fixed names (bridge name, rule comment
// "tsbox-net:NAME"), so removal finds them without records; building and
// removing them happens under the network lock (lock.ts).

import { DEFAULT_NETWORK_NAME } from "./mode.ts";
import { ErrorList, NotFoundError, TsboxError, UsageError } from "../errors.ts";
import { now, type State, state } from "../state/db.ts";
import { newId } from "../state/containers.ts";
import {
  checkGateway,
  formatSubnet,
  hostRange,
  ipToU32,
  overlaps,
  parseSubnet,
  type Subnet,
  subnetOf,
  u32ToIp,
} from "./addr.ts";
import { deleteBridge, enableForwarding, readyBridge, setupBridge } from "./bridge.ts";
import { withNetworkLock } from "./lock.ts";
import { deleteTable, installNetworkRules, type NatNetwork, removeNetworkRules } from "./nat.ts";
import { type Link, listRoutes } from "./netlink/route.ts";
import type { NetlinkSocket } from "./netlink/socket.ts";
import { hostNetfilter, hostRoute } from "./sockets.ts";

/** A network as recorded. */
export interface Network {
  name: string;
  /** 64 hex digits. */
  id: string;
  driver: "bridge";
  subnet: Subnet;
  gateway: string;
  /** The bridge's interface name. */
  bridge: string;
  created: string;
}

/** The default network's name, bridge and addresses (Docker's docker0 values). */
export const DEFAULT_NETWORK = {
  name: DEFAULT_NETWORK_NAME,
  bridge: "tsbox0",
  subnet: "172.17.0.0/16",
  gateway: "172.17.0.1",
} as const;

/** Names `network create` refuses: Docker's predefined networks. */
export const PREDEFINED = ["bridge", "host", "none"];

interface Row {
  name: string;
  id: string;
  driver: string;
  subnet: string;
  gateway: string;
  bridge: string;
  created: string;
}

function fromRow(r: Row): Network {
  return {
    name: r.name,
    id: r.id,
    driver: "bridge",
    subnet: parseSubnet(r.subnet),
    gateway: r.gateway,
    bridge: r.bridge,
    created: r.created,
  };
}

/** The nat.ts view of a network. */
export function natView(n: Network): NatNetwork {
  return { name: n.name, subnet: formatSubnet(n.subnet), bridge: n.bridge };
}

/** A network by name (or unique id prefix), or undefined. */
export function getNetwork(ref: string, st: State = state()): Network | undefined {
  const r = st.get<Row>("SELECT * FROM networks WHERE name = ? OR id = ?", ref, ref);
  if (r) return fromRow(r);
  if (/^[0-9a-f]{3,}$/.test(ref)) {
    const rows = st.all<Row>("SELECT * FROM networks WHERE id LIKE ?", `${ref}%`);
    if (rows.length === 1) return fromRow(rows[0]!);
  }
  return undefined;
}

/** Every recorded network, default first, then by name. */
export function listNetworks(st: State = state()): Network[] {
  return st.all<Row>(
    "SELECT * FROM networks ORDER BY name = 'bridge' DESC, name",
  ).map(fromRow);
}

/**
 * The network a container asks for: a recorded one, or the default network
 * (recorded on the spot: call inside a transaction). NotFoundError otherwise.
 */
export function resolveNetwork(name: string, st: State = state()): Network {
  const found = getNetwork(name, st);
  if (found) return found;
  if (name === DEFAULT_NETWORK.name) {
    st.run(
      "INSERT OR IGNORE INTO networks (name, id, driver, subnet, gateway, bridge, created, options) VALUES (?, ?, 'bridge', ?, ?, ?, ?, '{}')",
      DEFAULT_NETWORK.name,
      newId(),
      DEFAULT_NETWORK.subnet,
      DEFAULT_NETWORK.gateway,
      DEFAULT_NETWORK.bridge,
      now(),
    );
    return getNetwork(name, st)!;
  }
  throw new NotFoundError(`network ${name} not found`);
}

/**
 * Makes sure the network's bridge and rules exist; returns the bridge link.
 * Fast path: one RTM_GETLINK when the bridge is up. Otherwise builds both
 * under the network lock. Needs CAP_NET_ADMIN.
 */
export function ensureNetworkKernel(net: Network, route: NetlinkSocket): Link {
  const ready = readyBridge(route, net.bridge);
  if (ready) return ready;
  return withNetworkLock(() => {
    const again = readyBridge(route, net.bridge);
    if (again) return again;
    enableForwarding();
    installNetworkRules(hostNetfilter(), natView(net));
    return setupBridge(route, {
      name: net.bridge,
      gateway: net.gateway,
      prefixLen: net.subnet.prefixLen,
    });
  });
}

/**
 * Installs the network's rules again (under the network lock): for when the
 * bridge is up but tsbox's table was removed behind its back (`nft flush
 * ruleset`), which a container's DNAT rules notice (ENOENT).
 */
export function reinstallNetworkRules(net: Network): void {
  withNetworkLock(() => installNetworkRules(hostNetfilter(), natView(net)));
}

/** Default subnets for user networks, in order: Docker's pools after 172.17.0.0/16. */
export function* defaultSubnets(): Generator<Subnet> {
  for (let b = 18; b <= 31; b++) yield parseSubnet(`172.${b}.0.0/16`);
  for (let c = 0; c < 256; c += 16) yield parseSubnet(`192.168.${c}.0/20`);
}

/** The recorded network whose subnet overlaps `s` (the default's is always reserved). */
function overlapping(s: Subnet, st: State): string | undefined {
  const taken = listNetworks(st).map((n) => ({ name: n.name, subnet: n.subnet }));
  if (!taken.some((t) => t.name === DEFAULT_NETWORK.name)) {
    taken.push({ name: DEFAULT_NETWORK.name, subnet: parseSubnet(DEFAULT_NETWORK.subnet) });
  }
  const hit = taken.find((t) => overlaps(t.subnet, s));
  return hit && `${hit.name} (${formatSubnet(hit.subnet)})`;
}

/** Options of `network create`. */
export interface CreateNetworkOptions {
  name: string;
  subnet?: string;
  gateway?: string;
}

/** Checks a network name as Docker does. */
export function checkNetworkName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || name.length > 64) {
    throw new UsageError(
      `invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  if (PREDEFINED.includes(name)) {
    throw new UsageError(`${name} is a pre-defined network and cannot be created`);
  }
}

/**
 * Creates a user network: validates everything, records it, then builds its
 * bridge and rules. Without a subnet, the first default subnet that overlaps
 * neither another network nor a route of the host is taken.
 */
export function createNetwork(opts: CreateNetworkOptions): Network {
  checkNetworkName(opts.name);
  const explicit = opts.subnet !== undefined ? parseSubnet(opts.subnet) : undefined;
  if (opts.gateway !== undefined && !explicit) {
    throw new UsageError("--gateway needs --subnet");
  }
  if (explicit && opts.gateway !== undefined) checkGateway(explicit, opts.gateway);
  let hostRoutes: Subnet[] = [];
  if (!explicit) {
    hostRoutes = listRoutes(hostRoute()).filter((r) => r.dstLen > 0 && !r.dst.startsWith("?"))
      .map((r) => subnetOf(ipToU32(r.dst.split("/")[0]!), r.dstLen));
  }
  const st = state();
  const id = newId();
  const net = st.tx(() => {
    if (getNetwork(opts.name, st)) {
      throw new UsageError(`network with name ${opts.name} already exists`);
    }
    let subnet = explicit;
    if (subnet) {
      const clash = overlapping(subnet, st);
      if (clash) {
        throw new UsageError(
          `subnet ${formatSubnet(subnet)} overlaps network ${clash}`,
        );
      }
    } else {
      for (const s of defaultSubnets()) {
        if (!overlapping(s, st) && !hostRoutes.some((h) => overlaps(h, s))) {
          subnet = s;
          break;
        }
      }
      if (!subnet) throw new TsboxError("no default subnet left: give one with --subnet");
    }
    const gateway = opts.gateway ?? u32ToIp(hostRange(subnet).first);
    st.run(
      "INSERT INTO networks (name, id, driver, subnet, gateway, bridge, created, options) VALUES (?, ?, 'bridge', ?, ?, ?, ?, '{}')",
      opts.name,
      id,
      formatSubnet(subnet),
      gateway,
      `tsbox-${id.slice(0, 8)}`,
      now(),
    );
    return getNetwork(opts.name, st)!;
  });
  try {
    ensureNetworkKernel(net, hostRoute());
  } catch (e) {
    st.run("DELETE FROM networks WHERE name = ?", net.name);
    try {
      tearDownNetworkKernel(net, false);
    } catch { /* the first error is the one to report */ }
    throw new TsboxError(`create network ${net.name}`, { cause: e });
  }
  return net;
}

/** Removes the bridge and rules of `net`, and tsbox's table when `lastOne`. */
function tearDownNetworkKernel(net: Network, lastOne: boolean): void {
  const errs = new ErrorList();
  const nf = hostNetfilter(), route = hostRoute();
  errs.try(`remove the nftables rules of ${net.name}`, () => removeNetworkRules(nf, net.name));
  errs.try(`delete bridge ${net.bridge}`, () => deleteBridge(route, net.bridge));
  if (lastOne) errs.try("delete the tsbox nftables table", () => deleteTable(nf));
  errs.throwIfAny(`remove network ${net.name}`);
}

/**
 * Removes a network: refused while a container holds an address on it. The
 * record goes first (so no new container joins), then the kernel objects.
 */
export function removeNetwork(ref: string): Network {
  if (ref === "host" || ref === "none") {
    throw new UsageError(`${ref} is a pre-defined network and cannot be removed`);
  }
  const st = state();
  return withNetworkLock(() => {
    const { net, last } = st.tx(() => {
      const net = getNetwork(ref, st);
      if (!net) throw new NotFoundError(`network ${ref} not found`);
      const users = st.all<{ name: string }>(
        "SELECT c.name FROM leases l LEFT JOIN containers c ON c.id = l.container_id WHERE l.network = ?",
        net.name,
      );
      if (users.length) {
        throw new TsboxError(
          `error while removing network ${net.name}: network has active endpoints (${
            users.map((u) => u.name ?? "?").join(", ")
          })`,
        );
      }
      st.run("DELETE FROM networks WHERE name = ?", net.name);
      const left = st.get<{ n: number }>("SELECT count(*) AS n FROM networks")!.n;
      return { net, last: left === 0 };
    });
    tearDownNetworkKernel(net, last);
    return net;
  });
}

/** Whether any container holds an address on `name`. */
export function networkInUse(name: string, st: State = state()): boolean {
  return st.get("SELECT 1 FROM leases WHERE network = ? LIMIT 1", name) !== undefined;
}
