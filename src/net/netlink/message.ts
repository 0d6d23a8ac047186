// Netlink framing as pure functions: the message header (struct nlmsghdr),
// attribute TLVs (struct nlattr, nested and NLA_F_NESTED), 4-byte alignment,
// and the error/ACK payload (struct nlmsgerr plus extended-ACK TLVs).
// No I/O here: socket.ts sends and receives what these functions build.
// See netlink(7), rtnetlink(7), linux/netlink.h.
//
// A message, as the kernel lays it out (all integers host byte order):
//
//   0               4       6       8               12              16
//   +---------------+-------+-------+---------------+---------------+
//   | nlmsg_len     | type  | flags | nlmsg_seq     | nlmsg_pid     |
//   +---------------+-------+-------+---------------+---------------+
//   | family header (ifinfomsg, nfgenmsg, ...), padded to 4          |
//   | attributes: nla_len u16 | nla_type u16 | value | pad to 4 ... |
//   +----------------------------------------------------------------+
//
// nla_len counts the 4-byte attribute header and the value, not the padding.

/** Standard message types (linux/netlink.h). */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

/** Message flags (linux/netlink.h). GET and NEW requests reuse the same bits. */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  // GET requests
  ROOT: 0x100,
  MATCH: 0x200,
  ATOMIC: 0x400,
  DUMP: 0x300,
  // NEW requests
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // NLMSG_ERROR replies
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Attribute type flags (linux/netlink.h). */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Extended-ACK attributes of an NLMSG_ERROR (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3, POLICY: 4, MISS_TYPE: 5 } as const;

/** sizeof(struct nlmsghdr) */
export const NLMSG_HDRLEN = 16;
/** sizeof(struct nlattr) */
export const NLA_HDRLEN = 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Rounds `n` up to the netlink alignment, 4 bytes (NLMSG_ALIGN / NLA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---- attribute encoders -------------------------------------------------

/** One attribute: header, `value`, and zero padding to 4 bytes. */
export function nla(type: number, value: Uint8Array): Uint8Array {
  const len = NLA_HDRLEN + value.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute ${type} too long: ${len} bytes`);
  const out = new Uint8Array(align4(len));
  const v = new DataView(out.buffer);
  v.setUint16(0, len, true);
  v.setUint16(2, type, true);
  out.set(value, NLA_HDRLEN);
  return out;
}

/** A nested attribute holding `children` (already encoded), with NLA_F_NESTED set. */
export function nlaNested(type: number, children: readonly Uint8Array[]): Uint8Array {
  return nla(type | NLA_F_NESTED, concat(children));
}

/** A u8 attribute. */
export function nlaU8(type: number, value: number): Uint8Array {
  return nla(type, Uint8Array.of(value));
}

/** A u16 attribute in host byte order. */
export function nlaU16(type: number, value: number): Uint8Array {
  return nla(type, u16(value));
}

/** A u32 attribute in host byte order (rtnetlink). */
export function nlaU32(type: number, value: number): Uint8Array {
  return nla(type, u32(value));
}

/** A u32 attribute in network byte order (nfnetlink). Negative values are two's complement. */
export function nlaU32be(type: number, value: number): Uint8Array {
  return nla(type, u32be(value));
}

/** A u64 attribute in network byte order (nfnetlink handles). */
export function nlaU64be(type: number, value: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, value, false);
  return nla(type, b);
}

/** A NUL-terminated string attribute (NLA_STRING / NLA_NUL_STRING). */
export function nlaString(type: number, value: string): Uint8Array {
  if (value.includes("\0")) {
    throw new TypeError(`string contains a NUL byte: ${JSON.stringify(value)}`);
  }
  const s = encoder.encode(value);
  const b = new Uint8Array(s.length + 1);
  b.set(s);
  return nla(type, b);
}

/** Four bytes of `value` in host byte order. */
export function u32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  return b;
}

/** Four bytes of `value` in network byte order. */
export function u32be(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, false);
  return b;
}

/** Two bytes of `value` in host byte order. */
export function u16(value: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, value, true);
  return b;
}

/** Two bytes of `value` in network byte order. */
export function u16be(value: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, value, false);
  return b;
}

// ---- messages -------------------------------------------------------------

/** The header fields of one message. */
export interface Header {
  type: number;
  flags: number;
  seq: number;
  /** Port id of the sender; 0 in requests (the kernel fills it in). */
  pid: number;
}

/** One decoded message: header fields and the payload after the header. */
export interface Message extends Header {
  payload: Uint8Array;
}

/** Encodes one message: header + `payload` (family header and attributes), padded to 4. */
export function encodeMessage(h: Header, payload: Uint8Array): Uint8Array {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(align4(len));
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, h.type, true);
  v.setUint16(6, h.flags, true);
  v.setUint32(8, h.seq >>> 0, true);
  v.setUint32(12, h.pid >>> 0, true);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/** Splits a received datagram into messages. Throws on a malformed length. */
export function decodeMessages(buf: Uint8Array): Message[] {
  const out: Message[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new RangeError(`malformed netlink message at offset ${off}: length ${len}`);
    }
    out.push({
      type: v.getUint16(off + 4, true),
      flags: v.getUint16(off + 6, true),
      seq: v.getUint32(off + 8, true),
      pid: v.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

// ---- attribute decoders -------------------------------------------------------

/** One decoded attribute. `type` has the NLA_F_* bits cleared; `nested` tells NLA_F_NESTED. */
export interface Attr {
  type: number;
  nested: boolean;
  value: Uint8Array;
}

/** Decodes the attributes in `buf`, in order (repeated types kept). Stops at a truncated one. */
export function decodeAttrs(buf: Uint8Array): Attr[] {
  const out: Attr[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = v.getUint16(off, true);
    const type = v.getUint16(off + 2, true);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.push({
      type: type & NLA_TYPE_MASK,
      nested: (type & NLA_F_NESTED) !== 0,
      value: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** The attributes in `buf` by type (the last one wins for a repeated type). */
export function attrMap(buf: Uint8Array): Map<number, Uint8Array> {
  return new Map(decodeAttrs(buf).map((a) => [a.type, a.value]));
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads a u8 value (undefined if absent or short). */
export function readU8(b: Uint8Array | undefined): number | undefined {
  return b && b.length >= 1 ? b[0] : undefined;
}

/** Reads a host-order u16 value. */
export function readU16(b: Uint8Array | undefined): number | undefined {
  return b && b.length >= 2 ? view(b).getUint16(0, true) : undefined;
}

/** Reads a network-order u16 value (ports). */
export function readU16be(b: Uint8Array | undefined): number | undefined {
  return b && b.length >= 2 ? view(b).getUint16(0, false) : undefined;
}

/** Reads a host-order u32 value. */
export function readU32(b: Uint8Array | undefined): number | undefined {
  return b && b.length >= 4 ? view(b).getUint32(0, true) : undefined;
}

/** Reads a network-order u32 value. */
export function readU32be(b: Uint8Array | undefined): number | undefined {
  return b && b.length >= 4 ? view(b).getUint32(0, false) : undefined;
}

/** Reads a network-order u64 value (nfnetlink handles). */
export function readU64be(b: Uint8Array | undefined): bigint | undefined {
  return b && b.length >= 8 ? view(b).getBigUint64(0, false) : undefined;
}

/** Reads a string value, stopping at the first NUL. */
export function readString(b: Uint8Array | undefined): string | undefined {
  if (!b) return undefined;
  const end = b.indexOf(0);
  return decoder.decode(end < 0 ? b : b.subarray(0, end));
}

// ---- errors and ACKs ----------------------------------------------------------

/** A decoded NLMSG_ERROR payload (struct nlmsgerr and its extended-ACK TLVs). */
export interface ErrorPayload {
  /** 0 for an ACK, else the positive errno. */
  errno: number;
  /** Header of the request this answers. */
  request: Header;
  /** NLMSGERR_ATTR_MSG: the kernel's explanation, if it gave one. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: offset in the request of the attribute it rejected. */
  offset?: number;
}

/**
 * Decodes an NLMSG_ERROR payload. `flags` are the error message's own flags:
 * NLM_F_CAPPED says the request's payload was left out (NETLINK_CAP_ACK), and
 * NLM_F_ACK_TLVS that extended-ACK attributes follow.
 */
export function decodeError(payload: Uint8Array, flags: number): ErrorPayload {
  if (payload.length < 4 + NLMSG_HDRLEN) {
    throw new RangeError(`short netlink error message: ${payload.length} bytes`);
  }
  const v = view(payload);
  const error = v.getInt32(0, true);
  const reqLen = v.getUint32(4, true);
  const request: Header = {
    type: v.getUint16(8, true),
    flags: v.getUint16(10, true),
    seq: v.getUint32(12, true),
    pid: v.getUint32(16, true),
  };
  const out: ErrorPayload = { errno: -error, request };
  if (flags & NLM_F.ACK_TLVS) {
    const tlvStart = 4 + ((flags & NLM_F.CAPPED) ? NLMSG_HDRLEN : align4(reqLen));
    const attrs = attrMap(payload.subarray(tlvStart));
    const msg = readString(attrs.get(NLMSGERR_ATTR.MSG));
    if (msg) out.message = msg;
    const offs = readU32(attrs.get(NLMSGERR_ATTR.OFFS));
    if (offs !== undefined) out.offset = offs;
  }
  return out;
}

/** The int error of an NLMSG_DONE payload (0 if absent): negative when a dump failed. */
export function decodeDone(payload: Uint8Array): number {
  return payload.length >= 4 ? view(payload).getInt32(0, true) : 0;
}
