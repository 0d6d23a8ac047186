import assert from "node:assert/strict";
import { Arena, readMemory } from "./mem.ts";

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fails naming the first differing byte (node's assert would diff megabytes for minutes). */
function same(got: string | Uint8Array, want: string | Uint8Array, what: string): void {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      assert.fail(`${what}: differs at byte ${i} of ${want.length} (got ${got.length} bytes)`);
    }
  }
}

/** Sizes around the arena's chunk (64 KiB) and far beyond it. */
function size(r: () => number): number {
  const kind = r();
  if (kind < 0.5) return 1 + Math.floor(r() * 300);
  if (kind < 0.7) return 60_000 + Math.floor(r() * 10_000);
  if (kind < 0.9) return 65_536 + Math.floor(r() * 3) - 1;
  return 70_000 + Math.floor(r() * 1_000_000);
}

Deno.test("Arena: every allocation keeps its bytes and address, whatever the mix of sizes", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const a = new Arena();
    const made: { addr: bigint; data: Uint8Array }[] = [];
    for (let i = 0; i < 30; i++) {
      const data = new Uint8Array(size(r));
      for (let j = 0; j < data.length; j += 97) data[j] = 1 + Math.floor(r() * 255);
      data[0] = i + 1;
      data[data.length - 1] = 255 - i;
      const align = [1, 8, 16][Math.floor(r() * 3)]!;
      const addr = a.bytes(data, align);
      assert.equal(addr % BigInt(align), 0n, `seed ${seed}: aligned to ${align}`);
      made.push({ addr, data });
    }
    // No allocation overlaps another, and each still holds what was written.
    const sorted = [...made].sort((x, y) => (x.addr < y.addr ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      assert.ok(
        prev.addr + BigInt(prev.data.length) <= sorted[i]!.addr,
        `seed ${seed}: allocations overlap`,
      );
    }
    for (const [i, m] of made.entries()) {
      same(readMemory(m.addr, m.data.length), m.data, `seed ${seed}, allocation ${i}`);
    }
  }
});

Deno.test("Arena.cstrArray: long and many strings arrive whole (argv, envp)", () => {
  const a = new Arena();
  const list = [
    "A=" + "x".repeat(70_000),
    ...Array.from({ length: 3000 }, (_, i) => `V${i}=${"y".repeat(i % 50)}`),
    "B=" + "z".repeat(200_000),
    "short",
  ];
  const p = a.cstrArray(list);
  const ptrs = new BigUint64Array(readMemory(p, 8 * (list.length + 1)).buffer);
  assert.equal(ptrs[list.length], 0n, "NULL-terminated");
  list.forEach((s, i) => {
    const bytes = readMemory(ptrs[i]!, s.length + 1);
    assert.equal(bytes[s.length], 0, `string ${i} is NUL-terminated`);
    same(new TextDecoder().decode(bytes.subarray(0, s.length)), s, `string ${i}`);
  });
});
