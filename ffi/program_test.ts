import assert from "node:assert/strict";
import {
  decodeRecords,
  encodeProgram,
  FLAG_CONTINUE,
  FLAG_EXPECT,
  HEADER_SIZE,
  OP_SIZE,
  PROGRAM_MAGIC,
  ProgramBuilder,
  Reg,
} from "./program.ts";
import { SYS } from "./x86_64/syscalls.ts";

Deno.test("encodeProgram writes the header and each op byte for byte", () => {
  const r = new Reg(3);
  const bytes = encodeProgram(
    [
      { nr: 257, args: [0xffffff9cn, 0x1000n, 0o2000000n], flags: 0, dst: 3, okerr: 0, expect: 0n },
      { nr: 33, args: [r, 0n], flags: FLAG_CONTINUE | FLAG_EXPECT, dst: 0, okerr: 2, expect: -1n },
    ],
    7,
    -1,
  );
  assert.equal(bytes.length, HEADER_SIZE + 2 * OP_SIZE);
  const dv = new DataView(bytes.buffer);
  assert.equal(dv.getUint32(0, true), PROGRAM_MAGIC);
  assert.equal(dv.getUint32(4, true), 2);
  assert.equal(dv.getInt32(8, true), 7);
  assert.equal(dv.getInt32(12, true), -1);
  // op 0: openat, result to r3, plain args
  assert.deepEqual([...bytes.subarray(80, 88)], [1, 1, 0, 0, 0, 3, 0, 0]);
  assert.equal(dv.getBigUint64(88, true), 0xffffff9cn);
  assert.equal(dv.getBigUint64(96, true), 0x1000n);
  // op 1: dup2(r3, 0), continue+expect, okerr ENOENT, arg 0 is register 3
  assert.deepEqual([...bytes.subarray(144, 152)], [33, 0, 0, 0, 3, 0, 1, 2]);
  assert.equal(dv.getBigUint64(152, true), 3n);
  assert.equal(dv.getBigInt64(144 + 56, true), -1n);
});

Deno.test("ProgramBuilder copies strings into a stable arena and numbers ops", () => {
  const b = new ProgramBuilder();
  const reg = b.reg();
  assert.equal(reg.index, 1);
  const i = b.syscall("mkdir", ["/tmp/x", 0o755], { dst: reg, okErrno: 17 });
  assert.equal(i, 0);
  const op = b.ops[0]!;
  assert.equal(op.nr, SYS.mkdir);
  assert.equal(op.dst, 1);
  assert.equal(op.okerr, 17);
  const addr = op.args[0] as bigint;
  const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(addr)!);
  assert.equal(view.getCString(), "/tmp/x");
});

Deno.test("Reg refuses register 0 and out-of-range registers", () => {
  assert.throws(() => new Reg(0), RangeError);
  assert.throws(() => new Reg(8), RangeError);
});

Deno.test("decodeRecords reads failure and trace records", () => {
  const buf = new Uint8Array(48);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, 5, true);
  dv.setBigInt64(8, -2n, true);
  dv.setUint32(16, 6, true);
  dv.setBigInt64(24, 0n, true);
  assert.deepEqual(decodeRecords(buf.subarray(0, 32), 16), [{ index: 5, result: -2 }, {
    index: 6,
    result: 0,
  }]);
  const t = new Uint8Array(32);
  const tv = new DataView(t.buffer);
  tv.setUint32(0, 1, true);
  tv.setBigInt64(16, 2n, true);
  tv.setBigInt64(24, 500n, true);
  assert.deepEqual(decodeRecords(t, 32), [{ index: 1, result: 0, timeNs: 2_000_000_500n }]);
});

/** Fails naming the first differing byte (node's assert would diff megabytes for minutes). */
function same(got: string | Uint8Array, want: string | Uint8Array, what: string): void {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      assert.fail(`${what}: differs at byte ${i} of ${want.length} (got ${got.length} bytes)`);
    }
  }
}

/** The `len` bytes at `addr` and the one after (a C string's NUL), as text. */
function cstrAt(addr: bigint, len: number): string {
  const bytes = new Uint8Array(
    new Deno.UnsafePointerView(Deno.UnsafePointer.create(addr)!).getArrayBuffer(len + 1),
  );
  return new TextDecoder().decode(bytes.subarray(0, len)) + (bytes[len] === 0 ? "" : "<no NUL>");
}

Deno.test("an encoded program's string and array args hold whole values, large and many", () => {
  // Property: for programs mixing small and large (> 64 KiB) strings and
  // buffers, every argument read back through the encoded bytes is what was
  // given (argv/envp of an execve included), whatever the order.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let round = 0; round < 20; round++) {
    const b = new ProgramBuilder();
    const expected: { op: number; arg: number; value: string | Uint8Array }[] = [];
    const arrays: { addr: bigint; list: string[] }[] = [];
    for (let i = 0; i < 40; i++) {
      const big = rand() < 0.2;
      const len = big ? 65_000 + Math.floor(rand() * 200_000) : Math.floor(rand() * 200);
      if (rand() < 0.3) {
        const list = Array.from(
          { length: 1 + Math.floor(rand() * 500) },
          (_, j) => `K${j}=${String.fromCharCode(97 + (j % 26)).repeat(j === 0 ? len : j % 40)}`,
        );
        arrays.push({ addr: b.arena.cstrArray(list), list });
        continue;
      }
      const value: string | Uint8Array = rand() < 0.5
        ? `${i}:${"s".repeat(len)}`
        : new Uint8Array(len + 1).map((_, j) => (i * 31 + j) & 0xff);
      const op = b.syscall("write", [1, value, typeof value === "string" ? value.length : len + 1]);
      expected.push({ op, arg: 1, value });
    }
    const bytes = encodeProgram(b.ops, -1, -1);
    const dv = new DataView(bytes.buffer);
    for (const e of expected) {
      const addr = dv.getBigUint64(HEADER_SIZE + OP_SIZE * e.op + 8 + 8 * e.arg, true);
      if (typeof e.value === "string") {
        same(cstrAt(addr, e.value.length), e.value, `round ${round}`);
      } else {
        const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(addr)!);
        same(new Uint8Array(view.getArrayBuffer(e.value.length)), e.value, `round ${round}`);
      }
    }
    for (const a of arrays) {
      const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(a.addr)!);
      a.list.forEach((s, j) =>
        same(cstrAt(view.getBigUint64(8 * j), s.length), s, `round ${round}, string ${j}`)
      );
      assert.equal(view.getBigUint64(8 * a.list.length), 0n);
    }
  }
});
