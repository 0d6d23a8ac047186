// IPv4 subnets as numbers, for IPAM and network validation: strict CIDR
// parsing (host bits must be zero, as Docker requires of --subnet), overlap
// and containment, the usable host range, and the MAC Docker derives from a
// container's address (02:42 + the four address bytes). Pure functions; the
// netlink library's ip.ts does the text <-> bytes work underneath.
// See ip(7), RFC 4632 (CIDR), RFC 7042 (locally administered MACs).

import { UsageError } from "../errors.ts";
import { formatIPv4, formatMac, parseCidr, parseIPv4 } from "./netlink/ip.ts";

/** An IPv4 network: its first address as an unsigned 32-bit number and its prefix length. */
export interface Subnet {
  /** The network address (host bits zero), as a u32. */
  base: number;
  prefixLen: number;
}

/** "172.17.0.2" -> 0xac110002. Throws UsageError on anything but dotted-quad IPv4. */
export function ipToU32(text: string): number {
  let b: Uint8Array;
  try {
    b = parseIPv4(text);
  } catch (e) {
    throw new UsageError(`invalid IPv4 address ${JSON.stringify(text)}`, { cause: e });
  }
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** 0xac110002 -> "172.17.0.2". */
export function u32ToIp(n: number): string {
  return formatIPv4(Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
}

/** The netmask of a prefix length as a u32. */
export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/**
 * Parses a subnet for `network create --subnet`: "A.B.C.D/N" with N from 1
 * to 30 and no host bits set (Docker refuses "172.18.0.1/16" the same way).
 *
 * @example parseSubnet("172.18.0.0/16") // { base: 0xac120000, prefixLen: 16 }
 */
export function parseSubnet(text: string): Subnet {
  let c;
  try {
    if (!text.includes("/")) throw new TypeError("no prefix length");
    c = parseCidr(text);
  } catch (e) {
    throw new UsageError(`invalid subnet ${JSON.stringify(text)}: expected A.B.C.D/N`, {
      cause: e,
    });
  }
  if (c.prefixLen < 1 || c.prefixLen > 30) {
    throw new UsageError(
      `invalid subnet ${JSON.stringify(text)}: the prefix length must be 1 to 30`,
    );
  }
  const addr = ipToU32(formatIPv4(c.address));
  const base = (addr & maskOf(c.prefixLen)) >>> 0;
  if (base !== addr) {
    throw new UsageError(
      `invalid subnet ${JSON.stringify(text)}: it should be ${u32ToIp(base)}/${c.prefixLen}`,
    );
  }
  return { base, prefixLen: c.prefixLen };
}

/** The subnet of prefix length `prefixLen` that holds `addr` (host bits cleared). */
export function subnetOf(addr: number, prefixLen: number): Subnet {
  return { base: (addr & maskOf(prefixLen)) >>> 0, prefixLen };
}

/** "172.18.0.0/16". */
export function formatSubnet(s: Subnet): string {
  return `${u32ToIp(s.base)}/${s.prefixLen}`;
}

/** The last address of the subnet (its broadcast address). */
export function lastOf(s: Subnet): number {
  return (s.base | ~maskOf(s.prefixLen)) >>> 0;
}

/** Whether `addr` (u32) is inside `s`. */
export function contains(s: Subnet, addr: number): boolean {
  return ((addr & maskOf(s.prefixLen)) >>> 0) === s.base;
}

/** Whether two subnets share any address (one contains the other's base). */
export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.base) || contains(b, a.base);
}

/** The addresses a container may get: network + 1 .. broadcast - 1. */
export function hostRange(s: Subnet): { first: number; last: number } {
  return { first: s.base + 1, last: lastOf(s) - 1 };
}

/**
 * Checks a gateway for `s`: inside it, and neither its network nor its
 * broadcast address. Returns the gateway as a u32.
 */
export function checkGateway(s: Subnet, gateway: string): number {
  const g = ipToU32(gateway);
  const { first, last } = hostRange(s);
  if (!contains(s, g) || g < first || g > last) {
    throw new UsageError(
      `invalid gateway ${gateway}: not a host address of subnet ${formatSubnet(s)}`,
    );
  }
  return g;
}

/**
 * The MAC Docker gives a container: 02:42 (locally administered, unicast)
 * followed by the four bytes of its IPv4 address.
 *
 * @example macForAddress("172.17.0.2") // "02:42:ac:11:00:02"
 */
export function macForAddress(ip: string): string {
  const n = ipToU32(ip);
  return formatMac(
    Uint8Array.of(0x02, 0x42, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff),
  );
}
