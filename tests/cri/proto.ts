// The few protobuf messages of the CRI API (k8s.io/cri-api runtime/v1
// api.proto) that tests/oci_cri_test.ts sends and reads, encoded by hand:
// a message is an object { fieldNumber: value }, written in field order.
// Wire format (protobuf encoding guide): varint keys (field << 3 | type),
// type 0 varints, type 2 length-delimited (strings, bytes, messages, maps
// as repeated {1: key, 2: value} entries, packed repeated scalars).

/** A value to encode: a string, bytes, a number or bigint (varint), a boolean, a message, a map or a list. */
export type Value =
  | string
  | Uint8Array
  | number
  | bigint
  | boolean
  | Message
  | MapValue
  | Value[]
  | undefined;

/** A message: field number -> value. */
export interface Message {
  [field: number]: Value;
}

/** A protobuf map<string, string>. */
export class MapValue {
  constructor(readonly entries: Record<string, string>) {}
}

function varint(n: bigint, out: number[]): void {
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function field(no: number, v: Value, out: number[]): void {
  if (v === undefined) return;
  if (Array.isArray(v)) {
    for (const x of v) field(no, x, out);
    return;
  }
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") {
    const n = typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v);
    if (n === 0n) return; // proto3 default: omitted
    varint(BigInt(no << 3), out);
    varint(n, out);
    return;
  }
  if (v instanceof MapValue) {
    for (const [k, x] of Object.entries(v.entries)) field(no, { 1: k, 2: x }, out);
    return;
  }
  if (v === "") return; // proto3 default: omitted
  const bytes = typeof v === "string"
    ? new TextEncoder().encode(v)
    : v instanceof Uint8Array
    ? v
    : encode(v);
  varint(BigInt((no << 3) | 2), out);
  varint(BigInt(bytes.length), out);
  for (const b of bytes) out.push(b);
}

/** Encodes a message. */
export function encode(m: Message): Uint8Array {
  const out: number[] = [];
  for (const no of Object.keys(m).map(Number).sort((a, b) => a - b)) field(no, m[no], out);
  return new Uint8Array(out);
}

/** A decoded message: every field number -> its occurrences (varints as bigint, others as bytes). */
export class Decoded {
  readonly fields = new Map<number, (bigint | Uint8Array)[]>();

  constructor(bytes: Uint8Array) {
    let i = 0;
    const readVarint = (): bigint => {
      let v = 0n, shift = 0n;
      for (;;) {
        const b = bytes[i++];
        if (b === undefined) throw new Error("truncated varint");
        v |= BigInt(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
        shift += 7n;
      }
    };
    while (i < bytes.length) {
      const key = Number(readVarint());
      const no = key >> 3, type = key & 7;
      let val: bigint | Uint8Array;
      if (type === 0) val = readVarint();
      else if (type === 2) {
        const len = Number(readVarint());
        val = bytes.subarray(i, i + len);
        i += len;
      } else if (type === 1) {
        val = new DataView(bytes.buffer, bytes.byteOffset + i, 8).getBigUint64(0, true);
        i += 8;
      } else if (type === 5) {
        val = BigInt(new DataView(bytes.buffer, bytes.byteOffset + i, 4).getUint32(0, true));
        i += 4;
      } else throw new Error(`unsupported wire type ${type}`);
      if (!this.fields.has(no)) this.fields.set(no, []);
      this.fields.get(no)!.push(val);
    }
  }

  /** A varint field (0 when absent). */
  int(no: number): bigint {
    const v = this.fields.get(no)?.at(-1);
    return typeof v === "bigint" ? v : 0n;
  }

  /** A string field ("" when absent). */
  str(no: number): string {
    const v = this.fields.get(no)?.at(-1);
    return v instanceof Uint8Array ? new TextDecoder().decode(v) : "";
  }

  /** A bytes field (empty when absent). */
  bytes(no: number): Uint8Array {
    const v = this.fields.get(no)?.at(-1);
    return v instanceof Uint8Array ? v : new Uint8Array();
  }

  /** A message field (an empty message when absent). */
  msg(no: number): Decoded {
    return new Decoded(this.bytes(no));
  }

  /** Every occurrence of a message field. */
  msgs(no: number): Decoded[] {
    return (this.fields.get(no) ?? []).filter((v) => v instanceof Uint8Array).map((v) =>
      new Decoded(v as Uint8Array)
    );
  }
}
