// Memory helpers for the kernel boundary: addresses of JavaScript buffers, C
// strings, and an arena whose bytes keep one address for their whole life
// (the syscall program points into it from a child that has a copy of it).

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Address of the first byte of `buf` (0n for null). The buffer must stay alive while used. */
export function addr(buf: ArrayBufferView | null): bigint {
  if (buf === null || buf.byteLength === 0) return 0n;
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>)));
}

/** A NUL-terminated copy of `s` (UTF-8). Throws on an embedded NUL, which C would cut short. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) throw new TypeError(`string contains a NUL byte: ${JSON.stringify(s)}`);
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Decodes a NUL-terminated string from `buf`. */
export function fromCstr(buf: Uint8Array, offset = 0): string {
  let end = buf.indexOf(0, offset);
  if (end < 0) end = buf.length;
  return decoder.decode(buf.subarray(offset, end));
}

/** Reads `len` bytes at address `p` into a new array. */
export function readMemory(p: bigint, len: number): Uint8Array {
  if (len === 0) return new Uint8Array(0);
  const ptr = Deno.UnsafePointer.create(p);
  if (ptr === null) throw new TypeError("null pointer");
  return new Uint8Array(new Deno.UnsafePointerView(ptr).getArrayBuffer(len)).slice();
}

/** Copies `data` to address `p`. */
export function writeMemory(p: bigint, data: Uint8Array): void {
  const ptr = Deno.UnsafePointer.create(p);
  if (ptr === null) throw new TypeError("null pointer");
  new Uint8Array(new Deno.UnsafePointerView(ptr).getArrayBuffer(data.length)).set(data);
}

const CHUNK = 64 * 1024;

/**
 * Bump allocator over chunks that never move: every allocation has a stable
 * address for as long as the arena is referenced. Small allocations share
 * 64 KiB chunks; one larger than a chunk gets a buffer of its own, and the
 * current chunk stays the current one (a later allocation never lands in a
 * large buffer).
 *
 * @example
 * const a = new Arena();
 * const path = a.cstr("/proc"); // bigint address of "/proc\0"
 */
export class Arena {
  /** Every buffer handed out from, kept alive (and so at the same address) with the arena. */
  #buffers: Uint8Array<ArrayBuffer>[] = [];
  /** The chunk small allocations come from, and how much of it is used. */
  #chunk: Uint8Array<ArrayBuffer> | undefined;
  #used = 0;

  /** Reserves `size` zeroed bytes aligned to `align`; returns their address and a view. */
  alloc(size: number, align = 8): { addr: bigint; bytes: Uint8Array<ArrayBuffer> } {
    if (size + align > CHUNK) {
      // Its own buffer; a fresh ArrayBuffer is at least 8-byte aligned, more is padded.
      const big = new Uint8Array(size + align);
      this.#buffers.push(big);
      const base = addr(big);
      const pad = Number((BigInt(align) - (base % BigInt(align))) % BigInt(align));
      return { addr: base + BigInt(pad), bytes: big.subarray(pad, pad + size) };
    }
    let chunk = this.#chunk;
    let off = 0;
    if (chunk) {
      // Align the address, not only the offset (a chunk's start need not be 16-aligned).
      const at = addr(chunk) + BigInt(this.#used);
      off = this.#used + Number((BigInt(align) - (at % BigInt(align))) % BigInt(align));
    }
    if (!chunk || off + size > CHUNK) {
      chunk = new Uint8Array(CHUNK);
      this.#buffers.push(chunk);
      this.#chunk = chunk;
      const base = addr(chunk);
      off = Number((BigInt(align) - (base % BigInt(align))) % BigInt(align));
    }
    this.#used = off + size;
    return { addr: addr(chunk) + BigInt(off), bytes: chunk.subarray(off, off + size) };
  }

  /** Copies `data` into the arena; returns its address. */
  bytes(data: Uint8Array, align = 8): bigint {
    const a = this.alloc(Math.max(data.length, 1), align);
    a.bytes.set(data);
    return a.addr;
  }

  /** A NUL-terminated string in the arena; returns its address. */
  cstr(s: string): bigint {
    return this.bytes(cstr(s), 1);
  }

  /** A NULL-terminated array of C strings (argv, envp); returns its address. */
  cstrArray(list: readonly string[]): bigint {
    const ptrs = new BigUint64Array(list.length + 1);
    list.forEach((s, i) => ptrs[i] = this.cstr(s));
    return this.bytes(new Uint8Array(ptrs.buffer));
  }
}
