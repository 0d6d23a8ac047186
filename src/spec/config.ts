// The stored model of a container: the OCI runtime spec it runs plus what
// tsbox manages around it (where its root filesystem comes from, its
// network, restart policy, log options, labels). Every front end produces
// one: the Docker-style CLI from flags and the image config
// (src/spec/from_run.ts), the OCI runtime CLI from a bundle's config.json
// (src/cli/oci/). The engine (src/container/) creates, starts and tears
// down from it alone, so no code reads a front end's flags after creation.

import { UsageError } from "../errors.ts";
import type { NetworkMode } from "../net/mode.ts";
import type { PortRequest } from "../net/ports.ts";
import type { Spec } from "./types.ts";

/** A restart policy (`--restart`), as Docker applies it. */
export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** on-failure only: give up after this many restarts (0: never give up). */
  maxRetries: number;
}

/** Where the container's root filesystem comes from. */
export type RootfsConfig =
  /** An overlay of an image's layers and the container's own upper directory. */
  | { kind: "image"; image: string; imageId: string }
  /** A host directory used as it is (`--rootfs`, an OCI bundle's root.path). */
  | { kind: "dir"; path: string };

/** What tsbox wires for the container's network. */
export interface NetworkConfig {
  /**
   * none and host: nothing; container: join NAME's network namespace at start;
   * bridge: a veth on a tsbox network, with published ports; spec: the spec's
   * namespaces as they are (OCI runtime: the caller owns networking).
   */
  mode: NetworkMode | { kind: "spec" };
  /** Ports to publish (bridge mode only); a missing hostPort is picked at start. */
  ports: PortRequest[];
  /** What was typed, for `inspect` (HostConfig.PortBindings). */
  publish: string[];
}

/** Where a container's output goes. */
export interface LogConfig {
  /** json-file (default) or none. */
  driver: string;
  /** Driver options (`--log-opt`), e.g. max-size, max-file. */
  opts: Record<string, string>;
}

/** What a user asked that the spec alone does not say, shown by `inspect`. */
export interface RequestFacts {
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  /** host or remap. */
  userns: string;
}

/** One container's configuration, as stored. */
export interface ContainerConfig {
  /** The OCI runtime spec the executor runs. */
  spec: Spec;
  rootfs: RootfsConfig;
  network: NetworkConfig;
  restart: RestartPolicy;
  /** Remove the container when it exits (`--rm`). */
  autoRemove: boolean;
  /** Keep stdin open (`-i`): a detached container's stdin is a FIFO `attach` writes to. */
  openStdin: boolean;
  labels: Record<string, string>;
  /** The group it runs in (`--cgroup-parent`, see `tsbox group`). */
  cgroupParent?: string;
  log: LogConfig;
  request: RequestFacts;
}

/** The default restart policy. */
export const NO_RESTART: RestartPolicy = { name: "no", maxRetries: 0 };

/** Parses a `--restart` value; throws UsageError. */
export function parseRestartPolicy(v: string): RestartPolicy {
  const m = v.match(/^(no|always|unless-stopped|on-failure)(?::(\d+))?$/);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure")) {
    throw new UsageError(
      `invalid restart policy ${
        JSON.stringify(v)
      }: expected no, on-failure[:max-retries], always or unless-stopped`,
    );
  }
  return { name: m[1] as RestartPolicy["name"], maxRetries: m[2] ? Number(m[2]) : 0 };
}

/** A network mode as `--network` spells it (and `ps` shows it). */
export function networkModeText(mode: NetworkConfig["mode"]): string {
  switch (mode.kind) {
    case "bridge":
      return mode.network;
    case "container":
      return `container:${mode.ref}`;
    case "spec":
      return "";
    default:
      return mode.kind;
  }
}

/** Whether the container gets a network namespace tsbox wires (a bridge veth). */
export function wiresNetwork(c: Pick<ContainerConfig, "network">): boolean {
  return c.network.mode.kind === "bridge" || c.network.mode.kind === "container";
}
