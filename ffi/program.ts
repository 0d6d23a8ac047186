// Encoder for the syscall programs run by the interpreter in
// ffi/<arch>/trampoline.S (tsbox_run). A program is data: TypeScript decides
// every syscall and argument; the child only executes them in order.
//
// Byte layout (little endian), one contiguous buffer:
//
//   0       4       8       12      16                              80
//   +-------+-------+-------+-------+-------------------------------+
//   | magic | nops  | errfd |tracefd| regs[8] (u64 each)            |
//   +-------+-------+-------+-------+-------------------------------+
//   80 + 64*i: op i
//   0       4    5    6        7      8                      56        64
//   +-------+----+----+--------+------+----------------------+---------+
//   |  nr   |flag|dst |argregs |okerr | args[6] (u64 each)   | expect  |
//   +-------+----+----+--------+------+----------------------+---------+
//
//   flag    1 CONTINUE: a failure moves on to the next op (execve candidates)
//           2 EXPECT:   a result other than `expect` is a failure
//   dst     register (1..7) that receives the result; 0: none
//   argregs bit i set: args[i] holds a register number; the value is read
//           from that register when the op runs (e.g. an fd opened earlier)
//   okerr   errno that counts as success (the result becomes 0); 0: none
//
// Strings and structs the args point to live in an Arena (ffi/mem.ts): the
// child runs on a copy of this process's memory, so their addresses hold.
// Failure report on errfd: {u32 op index, u32 0, i64 result} (16 bytes).
// Trace record on tracefd: {u32 op index, u32 0, i64 result, i64 sec, i64 nsec}.

import { Arena } from "./mem.ts";
import { SYS, type SyscallName } from "./x86_64/syscalls.ts";

export const PROGRAM_MAGIC = 0x58425354; // "TSBX"
export const HEADER_SIZE = 80;
export const OP_SIZE = 64;
export const NREGS = 8;
export const FLAG_CONTINUE = 1;
export const FLAG_EXPECT = 2;
/** Size of a failure record on the error pipe. */
export const ERROR_RECORD_SIZE = 16;
/** Size of a trace record on the trace pipe. */
export const TRACE_RECORD_SIZE = 32;

/** A register of the interpreter: holds a syscall result for later ops. */
export class Reg {
  constructor(readonly index: number) {
    if (index < 1 || index >= NREGS) {
      throw new RangeError(`register ${index} out of range 1..${NREGS - 1}`);
    }
  }
}

/** An argument as written in a program: an integer, a C string, bytes, a register, or null. */
export type ProgArg = number | bigint | string | Uint8Array | Reg | null;

/** One op as the interpreter sees it, before encoding. */
export interface Op {
  nr: number;
  args: (bigint | Reg)[];
  flags: number;
  dst: number;
  okerr: number;
  expect: bigint;
}

/** Options of one op. */
export interface OpOptions {
  /** Register to store the result in. */
  dst?: Reg;
  /** On failure, go on with the next op. */
  continueOnError?: boolean;
  /** The result must equal this. */
  expect?: number;
  /** This errno counts as success. */
  okErrno?: number;
}

/** Builds a program op by op; strings and buffers are copied into its arena. */
export class ProgramBuilder {
  readonly arena: Arena = new Arena();
  readonly ops: Op[] = [];
  #nextReg = 1;

  /** A fresh register. */
  reg(): Reg {
    return new Reg(this.#nextReg++);
  }

  /** Places `value` in the arena and returns its address (strings as C strings). */
  data(value: string | Uint8Array): bigint {
    return typeof value === "string" ? this.arena.cstr(value) : this.arena.bytes(value);
  }

  /** Appends one syscall; returns its index. */
  syscall(name: SyscallName, args: readonly ProgArg[], opts: OpOptions = {}): number {
    if (args.length > 6) throw new RangeError(`${name}: at most 6 arguments`);
    const enc = args.map((a): bigint | Reg => {
      if (a === null) return 0n;
      if (a instanceof Reg) return a;
      if (typeof a === "number") return BigInt(a);
      if (typeof a === "bigint") return a;
      return this.data(a);
    });
    this.ops.push({
      nr: SYS[name],
      args: enc,
      flags: (opts.continueOnError ? FLAG_CONTINUE : 0) |
        (opts.expect !== undefined ? FLAG_EXPECT : 0),
      dst: opts.dst?.index ?? 0,
      okerr: opts.okErrno ?? 0,
      expect: BigInt(opts.expect ?? 0),
    });
    return this.ops.length - 1;
  }
}

/** Encodes ops into the byte layout above. `tracefd` -1 disables tracing. */
export function encodeProgram(
  ops: readonly Op[],
  errfd: number,
  tracefd: number,
): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(HEADER_SIZE + OP_SIZE * ops.length);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, PROGRAM_MAGIC, true);
  dv.setUint32(4, ops.length, true);
  dv.setInt32(8, errfd, true);
  dv.setInt32(12, tracefd, true);
  ops.forEach((op, i) => {
    const o = HEADER_SIZE + OP_SIZE * i;
    let argregs = 0;
    dv.setUint32(o, op.nr, true);
    dv.setUint8(o + 4, op.flags);
    dv.setUint8(o + 5, op.dst);
    dv.setUint8(o + 7, op.okerr);
    op.args.forEach((a, j) => {
      if (a instanceof Reg) {
        argregs |= 1 << j;
        dv.setBigUint64(o + 8 + 8 * j, BigInt(a.index), true);
      } else {
        dv.setBigUint64(o + 8 + 8 * j, BigInt.asUintN(64, a), true);
      }
    });
    dv.setUint8(o + 6, argregs);
    dv.setBigInt64(o + 56, op.expect, true);
  });
  return buf;
}

/** A decoded failure or trace record. */
export interface Record {
  index: number;
  result: number;
  /** CLOCK_MONOTONIC nanoseconds, trace records only. */
  timeNs?: bigint;
}

/** Decodes the records in `bytes` (error records when `size` is 16, trace records when 32). */
export function decodeRecords(bytes: Uint8Array, size: number): Record[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record[] = [];
  for (let o = 0; o + size <= bytes.length; o += size) {
    const rec: Record = {
      index: dv.getUint32(o, true),
      result: Number(dv.getBigInt64(o + 8, true)),
    };
    if (size === TRACE_RECORD_SIZE) {
      rec.timeNs = dv.getBigInt64(o + 16, true) * 1_000_000_000n + dv.getBigInt64(o + 24, true);
    }
    out.push(rec);
  }
  return out;
}
