// A container's network, in two phases around the clone (start.ts):
//
//   prepareNetwork (before the clone; nothing here needs the container's process)
//     net: resolve the network          recorded on first use for `bridge`
//     net: pick host ports              bind tests; random ports for -P / -p PORT
//     net: lease ADDRESS                one transaction: lease + port reservations,
//                                       recorded as resources of the container
//     net: write /etc/hosts             own address and name (+ peers on user networks)
//     net: bridge BR ready              one RTM_GETLINK; first use builds it (network.ts)
//   attach (the child waits in its new network namespace, before execve)
//     net: veth vethXXXXXXX <-> eth0    one RTM_NEWLINK, peer created inside /proc/PID/ns/net
//     net: eth0 ADDRESS/N via GATEWAY   RTM_NEWADDR + RTM_NEWROUTE in the child's namespace
//     net: route_localnet on BR         only for a port the host reaches on 127.0.0.1
//     net: N published-port rules       one nftables batch (only with -p/-P)
//     net: peers' /etc/hosts            user networks only
//
// Every kernel object is recorded (resources, kind "network") before it is
// made; teardown.ts undoes them. `--network container:NAME` needs no wiring:
// the spec's network namespace gets the path of NAME's, joined by setns in
// the child. none and host need nothing either. With --trace each step
// prints a line starting with "net:", and a total.

import { NETLINK_ROUTE, O } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import type { Created } from "../container/create.ts";
import { monotonicNs, type Tracer } from "../runtime/trace.ts";
import { addResource, listResources, removeResource } from "../state/containers.ts";
import { state } from "../state/db.ts";
import { hostsFor, refreshHosts, writeInPlace } from "./hosts.ts";
import { leaseAddress } from "./ipam.ts";
import { NetlinkError, NetlinkSocket } from "./netlink/socket.ts";
import {
  DEFAULT_NETWORK,
  ensureNetworkKernel,
  type Network,
  reinstallNetworkRules,
  resolveNetwork,
} from "./network.ts";
import { addPortRules, resolvePorts } from "./portmap.ts";
import type { PortBinding } from "./ports.ts";
import { containerNetnsPath } from "./request.ts";
import { checkNotReserved, NETWORK_KIND, portKey, reservedHostPorts } from "./reservations.ts";
import { needsRouteLocalnet, resourceKey, undoNetworkResource } from "./teardown.ts";
import { setRouteLocalnet } from "./bridge.ts";
import { withNetworkLock } from "./lock.ts";
import { hostNetfilter, hostRoute } from "./sockets.ts";
import { configureContainerSide, plugVeth, vethName } from "./veth.ts";

/** A prepared network attachment. */
export interface NetworkPlan {
  /** Wires the network of the waiting child. */
  attach(child: { pid: number; pidfd: number }, trace: Tracer): Promise<void> | void;
}

const ms = (from: bigint) => (Number(monotonicNs() - from) / 1e6).toFixed(3);

/** Prepares the container's network; undefined when there is nothing to wire. */
export function prepareNetwork(c: Created, trace: Tracer): Promise<NetworkPlan | undefined> {
  try {
    return Promise.resolve(prepare(c, trace));
  } catch (e) {
    return Promise.reject(e);
  }
}

function prepare(c: Created, trace: Tracer): NetworkPlan | undefined {
  const t0 = trace.enabled ? monotonicNs() : 0n;
  trace.sync();
  const req = c.record.config.network;
  // Left from an earlier start of this container (a crash): undo first.
  for (const r of listResources(c.record.id).filter((r) => r.kind === NETWORK_KIND).reverse()) {
    undoNetworkResource(c.record.id, r);
    removeResource(c.record.id, r.kind, r.key);
  }
  switch (req.mode.kind) {
    case "none":
    case "host":
    case "spec":
      return undefined;
    case "container": {
      const path = containerNetnsPath(req.mode.ref);
      const ns = c.spec.linux?.namespaces?.find((n) => n.type === "network");
      if (!ns) throw new TsboxError("the spec has no network namespace to join");
      ns.path = path;
      trace.line("parent", `net: join the network namespace ${path}`);
      return undefined;
    }
    case "bridge":
      return prepareBridge(c, req.mode.network, req.ports, trace, t0);
  }
}

function prepareBridge(
  c: Created,
  networkName: string,
  requests: Parameters<typeof resolvePorts>[0],
  trace: Tracer,
  t0: bigint,
): NetworkPlan {
  const id = c.record.id;
  const st = state();
  const bindings = requests.length
    ? trace.run(
      `net: host ports for ${requests.length} published port(s)`,
      () => resolvePorts(requests, reservedHostPorts(st)),
    )
    : [];
  const { net, address } = trace.run(`net: lease an address on ${networkName}`, () =>
    st.tx(() => {
      const net = resolveNetwork(networkName, st);
      for (const b of bindings) checkNotReserved(st, b, id);
      const address = leaseAddress(st, net, id);
      addResource(id, NETWORK_KIND, resourceKey.lease(net.name, address), {
        network: net.name,
        address,
      });
      for (const b of bindings) addResource(id, NETWORK_KIND, portKey(b), { ...b });
      return { net, address };
    }));
  trace.run(`net: /etc/hosts with ${address}`, () => {
    if (net.name === DEFAULT_NETWORK.name) {
      // No peers to list: no need to read the other leases.
      const self = {
        id,
        name: c.record.name,
        hostname: c.spec.hostname ?? id.slice(0, 12),
        address,
      };
      writeInPlace(`${c.dir}/hosts`, hostsFor(self, [], false));
    } else {
      refreshHosts(net.name, id);
    }
  });
  const bridge = trace.run(
    `net: bridge ${net.bridge} ready`,
    () => ensureNetworkKernel(net, hostRoute()),
  );
  const veth = vethName(id);
  addResource(id, NETWORK_KIND, resourceKey.veth(veth), {});
  if (bindings.length) addResource(id, NETWORK_KIND, resourceKey.nft(id), {});
  const localnet = bindings.some((b) => needsRouteLocalnet(b.hostIp));
  if (localnet) {
    addResource(id, NETWORK_KIND, resourceKey.localnet(net.name), { bridge: net.bridge });
  }
  const prepared = trace.enabled ? ms(t0) : "";
  return {
    attach: (child, tr) => {
      const t1 = tr.enabled ? monotonicNs() : 0n;
      tr.sync();
      wire(child.pid, {
        id,
        net,
        address,
        veth,
        bridgeIndex: bridge.index,
        bindings,
        localnet,
      }, tr);
      if (tr.enabled) {
        tr.line("parent", `net: setup total ${prepared} ms before clone + ${ms(t1)} ms attach`);
      }
    },
  };
}

interface Wiring {
  id: string;
  net: Network;
  address: string;
  veth: string;
  bridgeIndex: number;
  bindings: PortBinding[];
  /** A binding the host reaches on 127.0.0.1: the bridge needs route_localnet. */
  localnet: boolean;
}

function wire(pid: number, w: Wiring, trace: Tracer): void {
  const nsPath = `/proc/${pid}/ns/net`;
  const nsFd = sys("open", [nsPath, O.RDONLY | O.CLOEXEC]);
  try {
    const { peerIndex } = trace.run(
      `net: veth ${w.veth} <-> eth0 in ${nsPath}`,
      () =>
        plugVeth(hostRoute(), {
          name: w.veth,
          bridgeIndex: w.bridgeIndex,
          netnsFd: nsFd,
          address: w.address,
          hairpin: w.bindings.length > 0,
        }),
    );
    trace.run(`net: eth0 ${w.address}/${w.net.subnet.prefixLen} via ${w.net.gateway}`, () => {
      using inner = NetlinkSocket.open(NETLINK_ROUTE, { netns: nsFd });
      configureContainerSide(inner, {
        address: w.address,
        prefixLen: w.net.subnet.prefixLen,
        gateway: w.net.gateway,
        ...(peerIndex !== undefined ? { peerIndex } : {}),
      });
    });
  } catch (e) {
    throw new TsboxError(`connect the container to network ${w.net.name}`, { cause: e });
  } finally {
    sysRaw("close", [nsFd]);
  }
  if (w.localnet) {
    trace.run(
      `net: route_localnet on ${w.net.bridge}`,
      () => withNetworkLock(() => setRouteLocalnet(w.net.bridge, true)),
    );
  }
  if (w.bindings.length) {
    trace.run(`net: ${w.bindings.length} published-port rule(s)`, () => {
      try {
        addPortRules(hostNetfilter(), w.id, w.address, w.bindings);
      } catch (e) {
        if (
          !(e instanceof TsboxError && e.cause instanceof NetlinkError &&
            e.cause.errno === Errno.ENOENT)
        ) throw e;
        reinstallNetworkRules(w.net); // the table was flushed by someone else
        addPortRules(hostNetfilter(), w.id, w.address, w.bindings);
      }
    });
  }
  if (w.net.name !== DEFAULT_NETWORK.name) {
    trace.run(`net: /etc/hosts of the peers on ${w.net.name}`, () => refreshHosts(w.net.name));
  }
}
