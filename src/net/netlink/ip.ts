// IPv4 and MAC address text <-> bytes, for the netlink encoders. Addresses
// travel in network byte order in every netlink family (struct in_addr);
// MACs are 6 raw bytes (IFLA_ADDRESS). Pure functions. See inet(3), ip(7).

/** An IPv4 address with a prefix length, as in "172.17.0.2/16". */
export interface Cidr {
  /** The address as written (not masked), 4 bytes, network order. */
  address: Uint8Array;
  prefixLen: number;
}

/**
 * Parses dotted-quad IPv4 text into 4 bytes; throws on anything else.
 * @example parseIPv4("172.17.0.1") // Uint8Array [172, 17, 0, 1]
 */
export function parseIPv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) < 256)) {
    throw new TypeError(`invalid IPv4 address ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(parts, Number);
}

/** Formats 4 bytes as dotted-quad text. */
export function formatIPv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new TypeError(`an IPv4 address has 4 bytes, not ${bytes.length}`);
  return Array.from(bytes).join(".");
}

/**
 * Parses "A.B.C.D/N" (or a bare address, taken as /32).
 * @example parseCidr("172.17.0.2/16") // { address: [172,17,0,2], prefixLen: 16 }
 */
export function parseCidr(text: string): Cidr {
  const [addr, len, ...rest] = text.split("/");
  if (addr === undefined || rest.length) {
    throw new TypeError(`invalid CIDR ${JSON.stringify(text)}`);
  }
  const prefixLen = len === undefined ? 32 : Number(len);
  if (!/^\d{1,2}$/.test(len ?? "32") || prefixLen > 32) {
    throw new TypeError(`invalid prefix length in ${JSON.stringify(text)}`);
  }
  return { address: parseIPv4(addr), prefixLen };
}

/** The netmask of a prefix length, as 4 bytes. */
export function prefixMask(prefixLen: number): Uint8Array {
  const m = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
  return Uint8Array.of(m >>> 24, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
}

/** The network address of `c` (host bits cleared). */
export function networkOf(c: Cidr): Uint8Array {
  const m = prefixMask(c.prefixLen);
  return c.address.map((b, i) => b & m[i]!);
}

/** The broadcast address of `c` (host bits set). */
export function broadcastOf(c: Cidr): Uint8Array {
  const m = prefixMask(c.prefixLen);
  return c.address.map((b, i) => (b | ~m[i]!) & 0xff);
}

/**
 * Parses "aa:bb:cc:dd:ee:ff" into 6 bytes.
 * @example parseMac("02:42:ac:11:00:02")
 */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`invalid MAC address ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Formats bytes as lower-case colon-separated hex ("02:42:ac:11:00:02"). */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Formats 16 bytes as IPv6 text, the longest run of zero groups shortened to "::" (RFC 5952). */
export function formatIPv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new TypeError(`an IPv6 address has 16 bytes, not ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
