// What network a container asks for, as data: `--network` parsed into a
// mode, and `-p`/`-P` into port requests. Pure functions (no state, no
// kernel); request.ts checks them against the state and the host.
// See docker-run(1) "--network", "--publish".

import { UsageError } from "../errors.ts";
import { type PortRequest, portRequests } from "./ports.ts";

/** The default network's name (Docker's). */
export const DEFAULT_NETWORK_NAME = "bridge";

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
  if (text === "" || text === "default" || text === DEFAULT_NETWORK_NAME) {
    return { kind: "bridge", network: DEFAULT_NETWORK_NAME };
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
