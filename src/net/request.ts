// What network a container asks for (`--network`, `-p`, `-P`), parsed and
// checked before anything is recorded or created: the mode, the network's
// existence, the port specs, and that every explicit host port is free, both
// among tsbox's containers (state) and on the host (a real bind test).
// `tsbox run` with bad input thus exits 125 having changed nothing.
// See docker-run(1) "--network", "--publish".

import { UsageError } from "../errors.ts";
import { reconcile } from "../container/status.ts";
import { findContainer } from "../state/containers.ts";
import { state } from "../state/db.ts";
import { DEFAULT_NETWORK, getNetwork } from "./network.ts";
import { checkHostPortFree } from "./portmap.ts";
import { type PortRequest, portRequests } from "./ports.ts";
import { checkNotReserved } from "./reservations.ts";

/** A container's network mode. */
export type NetworkMode =
  | { kind: "none" }
  | { kind: "host" }
  | { kind: "container"; ref: string }
  | { kind: "bridge"; network: string };

/**
 * Parses `--network`: bridge (or default, or empty), none, host,
 * container:NAME|ID, or the name of a user network.
 */
export function parseNetworkMode(text: string): NetworkMode {
  if (text === "" || text === "default" || text === DEFAULT_NETWORK.name) {
    return { kind: "bridge", network: DEFAULT_NETWORK.name };
  }
  if (text === "none" || text === "host") return { kind: text };
  if (text.startsWith("container:")) {
    const ref = text.slice("container:".length);
    if (!ref) {
      throw new UsageError(`invalid --network ${JSON.stringify(text)}: container name missing`);
    }
    return { kind: "container", ref };
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(text)) {
    throw new UsageError(
      `invalid --network ${
        JSON.stringify(text)
      }: expected bridge, none, host, container:NAME or a network name`,
    );
  }
  return { kind: "bridge", network: text };
}

/** The options that say what network a container wants. */
export interface NetworkOptions {
  network: string;
  publish: readonly string[];
  publishAll: boolean;
}

/** A validated request. */
export interface NetworkRequest {
  mode: NetworkMode;
  /** Ports to publish (only in bridge mode). */
  ports: PortRequest[];
}

/**
 * Validates a container's network request; throws UsageError or
 * NotFoundError (exit 125) and changes nothing. `containerId` is the
 * container's own id when it already exists (a restart), so its own
 * reservations do not count as conflicts.
 */
export function validateNetworkRequest(
  opts: NetworkOptions,
  exposed: Record<string, unknown> | undefined,
  containerId = "",
): NetworkRequest {
  const req = parseNetworkRequest(opts, exposed);
  const { mode, ports } = req;
  if (mode.kind === "host" && opts.publish.length) {
    console.error("WARNING: Published ports are discarded when using host network mode");
  }
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
  return req;
}

/**
 * The request as data: the mode and the ports to publish (none outside
 * bridge mode), with the checks that need no state. Throws UsageError.
 */
export function parseNetworkRequest(
  opts: NetworkOptions,
  exposed: Record<string, unknown> | undefined,
): NetworkRequest {
  const mode = parseNetworkMode(opts.network);
  const ports = portRequests(opts.publish, opts.publishAll, exposed);
  if ((mode.kind === "none" || mode.kind === "container") && opts.publish.length) {
    throw new UsageError(
      `conflicting options: port publishing and the ${
        mode.kind === "none" ? "none" : "container type"
      } network mode`,
    );
  }
  return { mode, ports: mode.kind === "bridge" ? ports : [] };
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
