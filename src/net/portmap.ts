// Published ports on the kernel side: whether a host port is free (a real
// bind(2) in the namespace tsbox runs in, which finds listeners that are not
// tsbox's), random host ports for `-P` and `-p PORT`, and the DNAT rules of a
// container in tsbox's `ports` chain (nat.ts), one per binding, each with the
// container's comment "tsbox:ID" so removal deletes exactly those.
// See bind(2), socket(7) SO_REUSEADDR, nft(8) "dnat".

import { AF_INET, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError, UsageError } from "../errors.ts";
import { ipToU32 } from "./addr.ts";
import { deleteRules, PORTS_CHAIN, TABLE, tableRules } from "./nat.ts";
import { NftBatch, type RuleSpec } from "./netlink/nftables.ts";
import * as m from "./netlink/nft_match.ts";
import type { NetlinkSocket } from "./netlink/socket.ts";
import { ANY_IP, type PortBinding, type PortRequest, type Proto, sameHostPort } from "./ports.ts";

// TODO(net): move to ffi/constants.ts (owned by the ffi/ maintainer).
/** setsockopt(SOL_SOCKET, SO_REUSEADDR): ignore TIME_WAIT sockets, never a listener. */
const SO_REUSEADDR = 2;
const SOCKADDR_IN_SIZE = 16;

/** The comment of a container's rules. */
export function containerComment(containerId: string): string {
  return `tsbox:${containerId}`;
}

/** struct sockaddr_in { u16 family; be16 port; be32 addr; u8 zero[8]; } */
function sockaddrIn(ip: string, port: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_IN_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  v.setUint32(4, ipToU32(ip), false);
  return b;
}

const IPPROTO_SCTP = 132;
/** socket(2) errors of a kernel without the protocol. */
const NO_PROTOCOL: readonly number[] = [
  Errno.EPROTONOSUPPORT,
  Errno.ESOCKTNOSUPPORT,
  Errno.EAFNOSUPPORT,
];

/** A port of the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), at random. */
function randomEphemeralPort(): number {
  let lo = 32768, hi = 60999;
  try {
    [lo, hi] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)
      .map(Number) as [number, number];
  } catch { /* the kernel's defaults */ }
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/**
 * Binds a throwaway socket to ip:port (port 0: the kernel picks one) and
 * returns the port bound, or the errno when bind fails.
 */
function tryBind(ip: string, port: number, proto: Proto): number | { errno: number } {
  const type = (proto === "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC;
  const fd = sysRaw("socket", [AF_INET, type, proto === "sctp" ? IPPROTO_SCTP : 0]);
  if (fd < 0) return { errno: -fd };
  try {
    if (proto !== "udp") {
      sys("setsockopt", [fd, SOL_SOCKET, SO_REUSEADDR, new Int32Array([1]), 4], "SO_REUSEADDR");
    }
    const r = sysRaw("bind", [fd, sockaddrIn(ip, port), SOCKADDR_IN_SIZE]);
    if (r < 0) return { errno: -r };
    const sa = new Uint8Array(SOCKADDR_IN_SIZE);
    sys("getsockname", [fd, sa, new Int32Array([SOCKADDR_IN_SIZE])], `fd ${fd}`);
    return new DataView(sa.buffer).getUint16(2, false);
  } finally {
    sysRaw("close", [fd]);
  }
}

/**
 * Throws unless host port `b` can be bound in the current namespace: a
 * program other than tsbox is listening on it, or the address is not one of
 * this host's.
 */
export function checkHostPortFree(b: PortBinding): void {
  const r = tryBind(b.hostIp, b.hostPort, b.proto);
  if (typeof r === "number") return;
  // No SCTP in this kernel (module not loaded): no socket to test with, as for Docker's proxy.
  if (b.proto === "sctp" && NO_PROTOCOL.includes(r.errno)) return;
  const where = `${b.hostIp}:${b.hostPort}/${b.proto}`;
  if (r.errno === Errno.EADDRNOTAVAIL) {
    throw new UsageError(`cannot publish on ${where}: ${b.hostIp} is not an address of this host`);
  }
  throw new TsboxError(
    r.errno === Errno.EADDRINUSE
      ? `bind for ${where} failed: port is already in use on the host`
      : `bind for ${where} failed`,
    { cause: new SyscallError("bind", r.errno, where) },
  );
}

/**
 * Decides the host port of every request: explicit ones are checked with a
 * bind test; the others get a port the kernel picks from its ephemeral range
 * that no tsbox container holds (`reserved`).
 */
export function resolvePorts(
  requests: readonly PortRequest[],
  reserved: readonly PortBinding[],
): PortBinding[] {
  const out: PortBinding[] = [];
  for (const r of requests) {
    if (r.hostPort !== undefined) {
      const b = { ...r, hostPort: r.hostPort };
      checkHostPortFree(b);
      out.push(b);
      continue;
    }
    let picked: number | undefined;
    for (let attempt = 0; attempt < 32 && picked === undefined; attempt++) {
      let p = tryBind(r.hostIp, 0, r.proto);
      if (typeof p !== "number" && r.proto === "sctp" && NO_PROTOCOL.includes(p.errno)) {
        p = randomEphemeralPort();
      }
      if (typeof p !== "number") {
        throw new TsboxError(`pick a host port for ${r.containerPort}/${r.proto}`, {
          cause: new SyscallError("bind", p.errno, `${r.hostIp}:0/${r.proto}`),
        });
      }
      const candidate = { ...r, hostPort: p };
      if (![...reserved, ...out].some((x) => sameHostPort(x, candidate))) picked = p;
    }
    if (picked === undefined) {
      throw new TsboxError(`no free host port for ${r.containerPort}/${r.proto}`);
    }
    out.push({ ...r, hostPort: picked });
  }
  return out;
}

/** The DNAT rules of a container's bindings (pure, for tests). */
export function portRules(
  containerId: string,
  address: string,
  bindings: readonly PortBinding[],
): RuleSpec[] {
  return bindings.map((b) => ({
    family: TABLE.family,
    table: TABLE.name,
    chain: PORTS_CHAIN,
    comment: containerComment(containerId),
    exprs: [
      ...(b.hostIp === ANY_IP ? [] : m.ipDaddr(b.hostIp)),
      ...(b.proto === "tcp"
        ? m.tcpDport(b.hostPort)
        : b.proto === "udp"
        ? m.udpDport(b.hostPort)
        : m.sctpDport(b.hostPort)),
      ...m.dnat(address, b.containerPort),
    ],
  }));
}

/** Adds a container's DNAT rules in one batch. */
export function addPortRules(
  sock: NetlinkSocket,
  containerId: string,
  address: string,
  bindings: readonly PortBinding[],
): void {
  const b = new NftBatch();
  for (const r of portRules(containerId, address, bindings)) b.addRule(r);
  try {
    b.commit(sock);
  } catch (e) {
    throw new TsboxError("add the published-port rules", { cause: e });
  }
}

/** Deletes a container's DNAT rules (listing only the `ports` chain); none left is fine. */
export function removePortRules(sock: NetlinkSocket, containerId: string): void {
  const comment = containerComment(containerId);
  deleteRules(sock, tableRules(sock, PORTS_CHAIN).filter((r) => r.comment === comment));
}
