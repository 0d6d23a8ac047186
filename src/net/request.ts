// What network a container asks for (`--network`, `-p`, `-P`), checked
// before anything is recorded or created: the network's existence, and that
// every explicit host port is free, both among tsbox's containers (state)
// and on the host (a real bind test). The parsing itself is mode.ts.
// `tsbox run` with bad input thus exits 125 having changed nothing.
// See docker-run(1) "--network", "--publish".

import { UsageError } from "../errors.ts";
import { reconcile } from "../container/status.ts";
import { findContainer } from "../state/containers.ts";
import { state } from "../state/db.ts";
import { DEFAULT_NETWORK, getNetwork } from "./network.ts";
import { checkHostPortFree } from "./portmap.ts";
import type { NetworkMode } from "./mode.ts";
import type { PortRequest } from "./ports.ts";
import { checkNotReserved } from "./reservations.ts";

/**
 * Checks a container's network request against the state and the host:
 * the network exists, a container to join runs, explicit host ports are
 * free. Throws UsageError (exit 125) and changes nothing. `containerId` is
 * the container's own id when it already exists (a restart), so its own
 * reservations do not count as conflicts.
 */
export function checkNetworkRequest(
  mode: NetworkMode,
  ports: readonly PortRequest[],
  containerId = "",
): void {
  if (mode.kind === "container") containerNetnsPath(mode.ref);
  if (mode.kind === "bridge") {
    const st = state();
    if (mode.network !== DEFAULT_NETWORK.name && !getNetwork(mode.network, st)) {
      throw new UsageError(`network ${mode.network} not found`);
    }
    for (const p of ports) {
      if (p.hostPort === undefined) continue;
      const b = { ...p, hostPort: p.hostPort };
      checkNotReserved(st, b, containerId);
      checkHostPortFree(b);
    }
  }
}

/**
 * The network namespace of a running container, for `--network
 * container:NAME`: /proc/PID/ns/net of its first process.
 */
export function containerNetnsPath(ref: string): string {
  let rec;
  try {
    rec = reconcile(findContainer(ref));
  } catch (e) {
    throw new UsageError(`--network container:${ref}`, { cause: e });
  }
  if (rec.status !== "running" && rec.status !== "paused" || !rec.pid) {
    throw new UsageError(
      `cannot join the network of container ${rec.name}: container is ${rec.status}`,
    );
  }
  return `/proc/${rec.pid}/ns/net`;
}

export {
  type NetworkMode,
  type NetworkOptions,
  type NetworkRequest,
  parseNetworkMode,
  parseNetworkRequest,
} from "./mode.ts";
