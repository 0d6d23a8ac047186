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
