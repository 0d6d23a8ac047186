// Published ports as data: Docker's `-p [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO]`
// grammar (ranges included), `-P` from the image's ExposedPorts, conflicts
// between bindings, and the text `ps` and `port` print. Pure functions; the
// kernel side (bind test, DNAT rules) is portmap.ts.
// See docker-run(1) "--publish", nat/nat.go ParsePortSpec in moby.

import { UsageError } from "../errors.ts";
import { ipToU32 } from "./addr.ts";

/** A transport protocol tsbox can publish. */
export type Proto = "tcp" | "udp" | "sctp";

/** The protocols, as `-p .../PROTO` names them. */
export const PROTOS: readonly Proto[] = ["tcp", "udp", "sctp"];

/** A requested binding; `hostPort` undefined means "pick a free one". */
export interface PortRequest {
  /** "0.0.0.0" for all of the host's addresses. */
  hostIp: string;
  hostPort?: number;
  containerPort: number;
  proto: Proto;
}

/** A binding with its host port decided. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: Proto;
}

/** Any address of the host. */
export const ANY_IP = "0.0.0.0";

function badSpec(spec: string, why: string): UsageError {
  return new UsageError(`invalid port specification ${JSON.stringify(spec)}: ${why}`);
}

/** "8000-8002" -> [8000, 8002]; "80" -> [80, 80]. */
function parseRange(spec: string, text: string, what: string): [number, number] {
  const m = text.match(/^(\d{1,5})(?:-(\d{1,5}))?$/);
  if (!m) throw badSpec(spec, `${what} ${JSON.stringify(text)} is not a port or range`);
  const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
  for (const p of [lo, hi]) {
    if (p < 1 || p > 65535) throw badSpec(spec, `${what} ${p} is out of range 1-65535`);
  }
  if (hi < lo) throw badSpec(spec, `${what} range ${text} is reversed`);
  return [lo, hi];
}

/**
 * Parses one `-p` value into bindings (one per port of a range).
 *
 * @example parsePublish("127.0.0.1:8080:80/udp")
 * // [{ hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "udp" }]
 */
export function parsePublish(spec: string): PortRequest[] {
  let rest = spec;
  let proto: Proto = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase() as Proto;
    if (!PROTOS.includes(p)) {
      throw badSpec(spec, `protocol ${JSON.stringify(p)} is not supported (tcp, udp or sctp)`);
    }
    proto = p;
    rest = rest.slice(0, slash);
  }
  if (rest.startsWith("[")) throw badSpec(spec, "IPv6 host addresses are not supported");
  const parts = rest.split(":");
  if (parts.length > 3 || rest === "") throw badSpec(spec, "expected [IP:][HOSTPORT:]PORT");
  const containerText = parts.at(-1)!;
  const hostText = parts.length >= 2 ? parts.at(-2)! : "";
  let hostIp = parts.length === 3 ? parts[0]! : ANY_IP;
  if (hostIp === "") hostIp = ANY_IP;
  try {
    ipToU32(hostIp);
  } catch {
    throw badSpec(spec, `host address ${JSON.stringify(hostIp)} is not an IPv4 address`);
  }
  const [cLo, cHi] = parseRange(spec, containerText, "container port");
  // Host port 0 (Docker: "-p 0:80"): one the kernel picks, as with no host port.
  if (hostText === "" || hostText === "0") {
    if (hostText === "0" && cHi !== cLo) {
      throw badSpec(spec, "host port 0 takes one container port");
    }
    const out: PortRequest[] = [];
    for (let p = cLo; p <= cHi; p++) out.push({ hostIp, containerPort: p, proto });
    return out;
  }
  const [hLo, hHi] = parseRange(spec, hostText, "host port");
  if (hHi - hLo !== cHi - cLo) {
    throw badSpec(spec, "the host and container port ranges differ in length");
  }
  const out: PortRequest[] = [];
  for (let i = 0; i <= cHi - cLo; i++) {
    out.push({ hostIp, hostPort: hLo + i, containerPort: cLo + i, proto });
  }
  return out;
}

/**
 * The image's ExposedPorts ({"80/tcp": {}, "53/udp": {}}) as container ports,
 * sorted by port then protocol.
 */
export function exposedPorts(
  exposed: Record<string, unknown> | undefined,
): { containerPort: number; proto: Proto }[] {
  const out: { containerPort: number; proto: Proto }[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    const [port, p = "tcp"] = key.split("/");
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535 || !PROTOS.includes(p as Proto)) continue;
    out.push({ containerPort: n, proto: p as Proto });
  }
  // Not localeCompare: its first call loads ICU's collator (7-15 ms of a `run -p`).
  return out.sort((a, b) =>
    a.containerPort - b.containerPort || (a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : 0)
  );
}

/** Whether two bindings want the same host socket (same protocol and port, overlapping address). */
export function sameHostPort(
  a: Pick<PortBinding, "hostIp" | "proto"> & { hostPort?: number },
  b: Pick<PortBinding, "hostIp" | "proto"> & { hostPort?: number },
): boolean {
  if (a.hostPort === undefined || b.hostPort === undefined) return false;
  return a.proto === b.proto && a.hostPort === b.hostPort &&
    (a.hostIp === b.hostIp || a.hostIp === ANY_IP || b.hostIp === ANY_IP);
}

/**
 * Every binding a container asks for: its `-p` values, then (with `-P`) each
 * exposed port not already published, on a random host port. Throws
 * UsageError for a bad spec or two bindings of the same host port.
 */
export function portRequests(
  publish: readonly string[],
  publishAll: boolean,
  exposed: Record<string, unknown> | undefined,
): PortRequest[] {
  const out = publish.flatMap(parsePublish);
  if (publishAll) {
    for (const e of exposedPorts(exposed)) {
      if (!out.some((r) => r.containerPort === e.containerPort && r.proto === e.proto)) {
        out.push({ hostIp: ANY_IP, ...e });
      }
    }
  }
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < i; j++) {
      if (sameHostPort(out[i]!, out[j]!)) {
        const r = out[i]!;
        throw new UsageError(
          `port ${r.hostIp}:${r.hostPort}/${r.proto} is published twice for this container`,
        );
      }
    }
  }
  return out;
}

/** Docker's PORTS column: "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp". */
export function formatPortsColumn(bindings: readonly PortBinding[]): string {
  return bindings.map((b) => `${b.hostIp}:${b.hostPort}->${b.containerPort}/${b.proto}`).join(
    ", ",
  );
}

/** `tsbox port` lines: "80/tcp -> 0.0.0.0:8080". */
export function formatPortLines(bindings: readonly PortBinding[]): string[] {
  return bindings.map((b) => `${b.containerPort}/${b.proto} -> ${b.hostIp}:${b.hostPort}`);
}
