// A tiny eBPF assembler and the generator of the cgroup v2 device filter
// (BPF_PROG_TYPE_CGROUP_DEVICE): cgroup v2 has no devices controller; a BPF
// program attached to the group decides each open(2)/mknod(2) of a device
// node. Instruction set: Documentation/bpf/standardization/instruction-set.rst;
// program context: struct bpf_cgroup_dev_ctx in include/uapi/linux/bpf.h.
// The program's shape follows crun's and runc's generators.
//
// Instruction encoding (struct bpf_insn, 8 bytes, little endian):
//
//   0      1         2         4                   8
//   +------+----+----+---------+-------------------+
//   | code |src |dst |   off   |        imm        |
//   +------+----+----+---------+-------------------+
//    u8     hi4  lo4   s16       s32
//
// Context (r1 points to it):           Registers after the prologue:
//   0  u32 access_type                   r2 = device type (low 16 bits)
//        low 16: BPF_DEVCG_DEV_*         r3 = access      (high 16 bits)
//        high 16: BPF_DEVCG_ACC_*        r4 = major
//   4  u32 major                         r5 = minor
//   8  u32 minor
//
// Program shape: the OCI list is evaluated so that the last matching rule
// wins, with default deny. So the rules are emitted in reverse order, each as
// a block that jumps to the next block when the device does not match and
// otherwise returns 1 (allow) or 0 (deny). A rule of type "a" matches every
// device (as in cgroup v1, where writing "a" resets the list): its block is
// an unconditional return and ends the program. Access matching: an allow
// rule matches when every requested access is allowed (request & rule ==
// request); a deny rule matches when any requested access is denied
// (request & rule != 0).

import { BPF_DEVCG } from "../../../ffi/constants.ts";
import { type DeviceRule, isWildcardRule } from "../resources.ts";

/** One eBPF instruction. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** Opcodes used here: class | op | source (BPF_K immediate, BPF_X register). */
export const OP = {
  /** BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off) */
  LDXW: 0x61,
  /** BPF_ALU | BPF_AND | BPF_K: dst &= imm (32-bit) */
  AND32_K: 0x54,
  /** BPF_ALU | BPF_RSH | BPF_K: dst >>= imm (32-bit) */
  RSH32_K: 0x74,
  /** BPF_ALU | BPF_MOV | BPF_X: dst = src (32-bit) */
  MOV32_X: 0xbc,
  /** BPF_ALU | BPF_MOV | BPF_K: dst = imm (32-bit) */
  MOV32_K: 0xb4,
  /** BPF_JMP | BPF_JNE | BPF_K: if dst != imm goto pc + 1 + off */
  JNE_K: 0x55,
  /** BPF_JMP | BPF_JNE | BPF_X: if dst != src goto pc + 1 + off */
  JNE_X: 0x5d,
  /** BPF_JMP | BPF_JEQ | BPF_K: if dst == imm goto pc + 1 + off */
  JEQ_K: 0x15,
  /** BPF_JMP | BPF_EXIT: return r0 */
  EXIT: 0x95,
} as const;

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({
  code,
  dst,
  src,
  off,
  imm,
});

/** dst = *(u32 *)(src + off) */
export const ldxw = (dst: number, src: number, off: number) => insn(OP.LDXW, dst, src, off, 0);
/** dst &= imm */
export const and32 = (dst: number, imm: number) => insn(OP.AND32_K, dst, 0, 0, imm);
/** dst >>= imm */
export const rsh32 = (dst: number, imm: number) => insn(OP.RSH32_K, dst, 0, 0, imm);
/** dst = src */
export const mov32Reg = (dst: number, src: number) => insn(OP.MOV32_X, dst, src, 0, 0);
/** dst = imm */
export const mov32 = (dst: number, imm: number) => insn(OP.MOV32_K, dst, 0, 0, imm);
/** if dst != imm skip `off` instructions */
export const jne = (dst: number, imm: number, off: number) => insn(OP.JNE_K, dst, 0, off, imm);
/** if dst != src skip `off` instructions */
export const jneReg = (dst: number, src: number, off: number) => insn(OP.JNE_X, dst, src, off, 0);
/** if dst == imm skip `off` instructions */
export const jeq = (dst: number, imm: number, off: number) => insn(OP.JEQ_K, dst, 0, off, imm);
/** return r0 */
export const exit = () => insn(OP.EXIT, 0, 0, 0, 0);

/** Encodes instructions as the kernel takes them (bpf(BPF_PROG_LOAD) `insns`). */
export function encodeInsns(insns: readonly Insn[]): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(insns.length * 8);
  const dv = new DataView(buf.buffer);
  insns.forEach((i, n) => {
    const o = n * 8;
    dv.setUint8(o, i.code);
    dv.setUint8(o + 1, ((i.src & 0xf) << 4) | (i.dst & 0xf));
    dv.setInt16(o + 2, i.off, true);
    dv.setInt32(o + 4, i.imm, true);
  });
  return buf;
}

/** One instruction as text, in the kernel verifier's notation ("r2 = *(u32 *)(r1 +0)"). */
export function formatInsn(i: Insn): string {
  const d = `r${i.dst}`, s = `r${i.src}`;
  switch (i.code) {
    case OP.LDXW:
      return `${d} = *(u32 *)(${s} +${i.off})`;
    case OP.AND32_K:
      return `w${i.dst} &= ${i.imm}`;
    case OP.RSH32_K:
      return `w${i.dst} >>= ${i.imm}`;
    case OP.MOV32_X:
      return `w${i.dst} = w${i.src}`;
    case OP.MOV32_K:
      return `w${i.dst} = ${i.imm}`;
    case OP.JNE_K:
      return `if ${d} != ${i.imm} goto pc+${i.off}`;
    case OP.JNE_X:
      return `if ${d} != ${s} goto pc+${i.off}`;
    case OP.JEQ_K:
      return `if ${d} == ${i.imm} goto pc+${i.off}`;
    case OP.EXIT:
      return "exit";
    default:
      return `.insn 0x${i.code.toString(16)}`;
  }
}

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;
const ALL_ACCESS = BPF_DEVCG.ACC_READ | BPF_DEVCG.ACC_WRITE | BPF_DEVCG.ACC_MKNOD;

/** "rwm" letters -> BPF_DEVCG_ACC_* bits. */
export function accessBits(access: string): number {
  let bits = 0;
  for (const ch of access) {
    if (ch === "r") bits |= BPF_DEVCG.ACC_READ;
    else if (ch === "w") bits |= BPF_DEVCG.ACC_WRITE;
    else if (ch === "m") bits |= BPF_DEVCG.ACC_MKNOD;
    else throw new RangeError(`invalid device access ${JSON.stringify(access)}`);
  }
  return bits;
}

const hasNumber = (n: number | null | undefined): n is number =>
  n !== undefined && n !== null && n >= 0;

/** The block of one typed rule; jumps with off -1 are patched to the block's end. */
function ruleBlock(rule: DeviceRule): Insn[] {
  const NEXT = -1;
  const block: Insn[] = [
    jne(R2, rule.type === "b" ? BPF_DEVCG.DEV_BLOCK : BPF_DEVCG.DEV_CHAR, NEXT),
  ];
  const access = accessBits(rule.access || "rwm");
  if (access !== ALL_ACCESS) {
    block.push(mov32Reg(R1, R3), and32(R1, access));
    block.push(rule.allow ? jneReg(R1, R3, NEXT) : jeq(R1, 0, NEXT));
  }
  if (hasNumber(rule.major)) block.push(jne(R4, rule.major, NEXT));
  if (hasNumber(rule.minor)) block.push(jne(R5, rule.minor, NEXT));
  block.push(mov32(R0, rule.allow ? 1 : 0), exit());
  return block.map((
    ins,
    idx,
  ) => (ins.off === NEXT ? { ...ins, off: block.length - idx - 1 } : ins));
}

/**
 * The device filter program for an OCI device list (see the header for the
 * semantics).
 *
 * @example
 * encodeInsns(deviceFilter([{ allow: false, access: "rwm" },
 *   { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]));
 */
export function deviceFilter(rules: readonly DeviceRule[]): Insn[] {
  const prog: Insn[] = [
    ldxw(R2, R1, 0),
    and32(R2, 0xffff),
    ldxw(R3, R1, 0),
    rsh32(R3, 16),
    ldxw(R4, R1, 4),
    ldxw(R5, R1, 8),
  ];
  for (const rule of [...rules].reverse()) {
    if (isWildcardRule(rule)) {
      prog.push(mov32(R0, rule.allow ? 1 : 0), exit());
      return prog;
    }
    prog.push(...ruleBlock(rule));
  }
  prog.push(mov32(R0, 0), exit());
  return prog;
}
