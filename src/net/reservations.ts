// Host ports held by tsbox containers, as recorded in the state database:
// each published port is a resource of its container (kind "network", key
// "port:PROTO:HOSTIP:HOSTPORT", the binding as data), written in the same
// transaction as the container's address lease, so two containers cannot
// both reserve a port. `ps`, `port` and the conflict check read them here;
// this module touches no kernel object. See reservations in Docker's
// portallocator for the same idea.

import { TsboxError } from "../errors.ts";
import { reconcile } from "../container/status.ts";
import { getContainer } from "../state/containers.ts";
import { type State, state } from "../state/db.ts";
import { type PortBinding, sameHostPort } from "./ports.ts";

/** The resource key of a binding. */
export function portKey(b: PortBinding): string {
  return `port:${b.proto}:${b.hostIp}:${b.hostPort}`;
}

/** The resource kind of everything network-related a container owns. */
export const NETWORK_KIND = "network";

/** Every recorded binding of containers other than `exceptId`. */
function otherBindings(st: State, exceptId: string): { id: string; b: PortBinding }[] {
  return st.all<{ container_id: string; data: string }>(
    "SELECT container_id, data FROM resources WHERE kind = ? AND key LIKE 'port:%' AND container_id != ?",
    NETWORK_KIND,
    exceptId,
  ).map((r) => ({ id: r.container_id, b: JSON.parse(r.data) as PortBinding }));
}

/**
 * The container that already holds a host port `b` wants, if any. A holder
 * whose process is gone (a crashed tsbox) does not count.
 */
export function portHolder(
  st: State,
  b: Pick<PortBinding, "proto" | "hostIp"> & { hostPort?: number },
  exceptId: string,
): string | undefined {
  for (const o of otherBindings(st, exceptId)) {
    if (!sameHostPort(o.b, b)) continue;
    const rec = getContainer(o.id);
    if (!rec) continue;
    const live = reconcile(rec);
    if (live.status === "exited" || live.status === "dead") continue;
    return live.name;
  }
  return undefined;
}

/** The host ports reserved by any tsbox container, for picking random ones. */
export function reservedHostPorts(st: State = state()): PortBinding[] {
  return otherBindings(st, "").map((o) => o.b);
}

/** Throws "port is already allocated" if another container holds `b`'s host port. */
export function checkNotReserved(st: State, b: PortBinding, containerId: string): void {
  const holder = portHolder(st, b, containerId);
  if (holder !== undefined) {
    throw new TsboxError(
      `bind for ${b.hostIp}:${b.hostPort}/${b.proto} failed: port is already allocated by container ${holder}`,
    );
  }
}

/** The published ports of a container, sorted by container port. */
export function bindingsOf(containerId: string, st: State = state()): PortBinding[] {
  return st.all<{ data: string }>(
    "SELECT data FROM resources WHERE container_id = ? AND kind = ? AND key LIKE 'port:%'",
    containerId,
    NETWORK_KIND,
  ).map((r) => JSON.parse(r.data) as PortBinding)
    .sort((a, b) =>
      a.containerPort - b.containerPort || (a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : 0)
    );
}
