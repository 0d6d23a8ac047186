// A container's network: prepared before it starts (address lease, records),
// then wired while its first process waits (veth into its namespace, address,
// routes, NAT and published ports), and torn down with it.
// TODO(issue 3): bridge and user networks, IPAM, NAPT, published ports.

import { UsageError } from "../errors.ts";
import type { Created } from "../container/create.ts";
import type { Tracer } from "../runtime/trace.ts";

/** A prepared network attachment. */
export interface NetworkPlan {
  /** Wires the network of the waiting child. */
  attach(child: { pid: number; pidfd: number }, trace: Tracer): Promise<void> | void;
}

/** Prepares the container's network; undefined for none and host. */
export function prepareNetwork(c: Created, _trace: Tracer): Promise<NetworkPlan | undefined> {
  const mode = (c.record.options as { network?: string }).network ?? "bridge";
  if (mode === "none" || mode === "host") return Promise.resolve(undefined);
  return Promise.reject(
    new UsageError(
      `network ${JSON.stringify(mode)} is not available yet; use --network none or host`,
    ),
  );
}
