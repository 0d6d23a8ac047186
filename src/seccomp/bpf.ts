// Compiles the OCI spec's linux.seccomp into a classic BPF program for
// seccomp(SECCOMP_SET_MODE_FILTER), in TypeScript (no libseccomp). The
// program reads struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }
// and returns an action. See seccomp(2), Documentation/userspace-api/seccomp_filter.rst.
//
//   ld  arch ; x86_64 -> native, i386 (if the profile lists SCMP_ARCH_X86) -> its
//              own section with its own numbers, else ret KILL_PROCESS
//   native: ld nr ; jge X32_SYSCALL_BIT ? ret ERRNO(EPERM) : next  (no x32 numbers)
//   a binary search over the numbers the rules name: any other syscall (read,
//   write, sendmsg, futex...: the hot ones) gets the default action after
//   about log2(n) comparisons instead of walking every rule;
//   rules: per rule, in order (the first rule that matches decides):
//     ld nr ; jeq N1 ? match : next ; jeq N2 ? match : next ... ; ja next_rule
//     match: per argument condition, compare the low and the high 32 bits,
//            jumping to next_rule on a mismatch ; ret ACTION
//   ret DEFAULT
//   i386: the same search and rules, with the i386 table's numbers
//
// Rules are tried in order, first match wins: a spec that allows a syscall
// only for some arguments lists the ALLOW rule with the conditions first,
// then the general rule. Names this architecture does not have are skipped,
// as runc does. Comparisons are libseccomp's, on 64-bit values: EQ, NE, LT,
// LE, GT, GE (unsigned, high word first), MASKED_EQ. Conditions of one rule
// must all hold, except that several conditions on the same argument are
// alternatives (runc adds one libseccomp rule per condition then).

import { AUDIT_ARCH, AUDIT_ARCH_I386, X32_SYSCALL_BIT } from "../../ffi/x86_64/syscalls.ts";
import { I386_TABLE, X86_64_TABLE } from "../../ffi/x86_64/syscall_table.ts";
import { Errno } from "../../ffi/errno.ts";
import { UsageError } from "../errors.ts";
import type { Seccomp, SeccompAction, SeccompArg, SeccompRule } from "../spec/types.ts";

const LD_W_ABS = 0x20, JEQ_K = 0x15, JGT_K = 0x25, JGE_K = 0x35, JA = 0x05, RET_K = 0x06;
const AND_K = 0x54;

/** The actions tsbox compiles (SCMP_ACT_NOTIFY is refused: no listener support). */
export const SECCOMP_ACTIONS = [
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_LOG",
];
/** The comparisons tsbox compiles: all of libseccomp's. */
export const SECCOMP_OPERATORS = [
  "SCMP_CMP_EQ",
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_GT",
  "SCMP_CMP_GE",
  "SCMP_CMP_MASKED_EQ",
];
/** seccomp(2) filter flags by OCI name. */
const FLAG_BITS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};
/** The filter flags tsbox passes on. */
export const SECCOMP_FLAGS = Object.keys(FLAG_BITS);

/** The seccomp(2) flags for linux.seccomp.flags; UsageError for an unknown one. */
export function seccompFlags(profile: Seccomp | undefined): number {
  let f = 0;
  for (const name of profile?.flags ?? []) {
    const bit = FLAG_BITS[name];
    if (bit === undefined) throw new UsageError(`seccomp: unknown flag ${JSON.stringify(name)}`);
    f |= bit;
  }
  return f;
}

/** SECCOMP_RET_* values. */
export const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

/** Offsets in struct seccomp_data. */
const NR = 0, ARCH = 4;
const argLow = (i: number) => 16 + 8 * i, argHigh = (i: number) => 20 + 8 * i;

/** The number of `name` in `arch`'s table, or undefined. */
export function syscallNr(name: string, arch: Arch = "x86_64"): number | undefined {
  return (arch === "i386" ? I386_TABLE : X86_64_TABLE)[name];
}

/** The ABIs a filter covers: native x86_64, and i386 when the profile lists SCMP_ARCH_X86. */
export type Arch = "x86_64" | "i386";

interface Insn {
  code: number;
  k: number;
  /** Labels for the true and false branches of a conditional jump (or the target of ja). */
  jt?: string;
  jf?: string;
}

/** A tiny assembler: instructions with symbolic jump targets, resolved at the end. */
class Asm {
  readonly insns: Insn[] = [];
  readonly labels = new Map<string, number>();
  #n = 0;

  label(): string {
    return `L${this.#n++}`;
  }
  here(l: string): void {
    this.labels.set(l, this.insns.length);
  }
  ld(off: number): void {
    this.insns.push({ code: LD_W_ABS, k: off });
  }
  and(k: number): void {
    this.insns.push({ code: AND_K, k });
  }
  /** if (A == k) goto jt else goto jf ("next" = fall through). */
  jeq(k: number, jt: string, jf: string): void {
    this.insns.push({ code: JEQ_K, k, jt, jf });
  }
  jge(k: number, jt: string, jf: string): void {
    this.insns.push({ code: JGE_K, k, jt, jf });
  }
  jgt(k: number, jt: string, jf: string): void {
    this.insns.push({ code: JGT_K, k, jt, jf });
  }
  ja(to: string): void {
    this.insns.push({ code: JA, k: 0, jt: to });
  }
  ret(k: number): void {
    this.insns.push({ code: RET_K, k });
  }

  /** struct sock_filter[]: { u16 code; u8 jt; u8 jf; u32 k; } each. */
  encode(): Uint8Array {
    const out = new Uint8Array(this.insns.length * 8);
    const dv = new DataView(out.buffer);
    const rel = (from: number, l: string | undefined) => {
      if (l === undefined || l === "next") return 0;
      const at = this.labels.get(l);
      if (at === undefined) throw new Error(`seccomp: undefined label ${l}`);
      const d = at - from - 1;
      if (d < 0) throw new Error("seccomp: backward jump");
      return d;
    };
    this.insns.forEach((ins, i) => {
      dv.setUint16(i * 8, ins.code, true);
      if (ins.code === JA) {
        dv.setUint32(i * 8 + 4, rel(i, ins.jt), true);
      } else {
        const jt = rel(i, ins.jt), jf = rel(i, ins.jf);
        if (jt > 255 || jf > 255) {
          throw new Error("seccomp: a rule has too many syscalls (jump > 255)");
        }
        dv.setUint8(i * 8 + 2, jt);
        dv.setUint8(i * 8 + 3, jf);
        dv.setUint32(i * 8 + 4, ins.k >>> 0, true);
      }
    });
    return out;
  }
}

function retValue(action: SeccompAction, errno: number | undefined): number {
  switch (action) {
    case "SCMP_ACT_ALLOW":
      return RET.ALLOW;
    case "SCMP_ACT_ERRNO":
      return (RET.ERRNO | ((errno ?? Errno.EPERM) & 0xffff)) >>> 0;
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return RET.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return RET.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return RET.TRAP;
    case "SCMP_ACT_TRACE":
      return (RET.TRACE | ((errno ?? Errno.EPERM) & 0xffff)) >>> 0;
    case "SCMP_ACT_NOTIFY":
      throw new UsageError("seccomp: SCMP_ACT_NOTIFY is not supported");
    case "SCMP_ACT_LOG":
      return RET.LOG;
    default:
      throw new UsageError(`seccomp: unsupported action ${JSON.stringify(action)}`);
  }
}

/** Emits the checks of one argument condition; jumps to `fail` when it does not hold. */
function emitArg(a: Asm, c: SeccompArg, fail: string): void {
  if (c.index < 0 || c.index > 5) throw new UsageError(`seccomp: argument index ${c.index}`);
  const v = BigInt(c.value), v2 = BigInt(c.valueTwo ?? 0);
  const lo = (x: bigint) => Number(x & 0xffffffffn),
    hi = (x: bigint) => Number((x >> 32n) & 0xffffffffn);
  switch (c.op) {
    case "SCMP_CMP_EQ":
      a.ld(argLow(c.index));
      a.jeq(lo(v), "next", fail);
      a.ld(argHigh(c.index));
      a.jeq(hi(v), "next", fail);
      return;
    case "SCMP_CMP_NE": {
      // NE holds when either half differs.
      const holds = a.label();
      a.ld(argLow(c.index));
      a.jeq(lo(v), "next", holds);
      a.ld(argHigh(c.index));
      a.jeq(hi(v), fail, "next");
      a.here(holds);
      return;
    }
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE":
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE": {
      // Unsigned 64-bit order: the high words decide unless they are equal.
      // GT/GE hold on "above"; LT is !GE and LE is !GT.
      const holds = a.label();
      const above = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_GE" ? holds : fail;
      const below = above === holds ? fail : holds;
      const strict = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_LE";
      a.ld(argHigh(c.index));
      a.jgt(hi(v), above, "next");
      a.jeq(hi(v), "next", below);
      a.ld(argLow(c.index));
      if (strict) a.jgt(lo(v), above, below);
      else a.jge(lo(v), above, below);
      a.here(holds);
      return;
    }
    case "SCMP_CMP_MASKED_EQ":
      a.ld(argLow(c.index));
      a.and(lo(v));
      a.jeq(lo(v2), "next", fail);
      a.ld(argHigh(c.index));
      a.and(hi(v));
      a.jeq(hi(v2), "next", fail);
      return;
    default:
      throw new UsageError(
        `seccomp: unsupported comparison ${JSON.stringify((c as { op: string }).op)}`,
      );
  }
}

/** The BPF program (struct sock_filter[]) for `spec`. */
export function compileSeccomp(spec: Seccomp): Uint8Array {
  const arches = spec.architectures ?? [];
  if (arches.length && !arches.includes("SCMP_ARCH_X86_64")) {
    throw new UsageError(
      `seccomp: the profile does not cover SCMP_ARCH_X86_64 (${arches.join(", ")})`,
    );
  }
  const a = new Asm();
  const kill = a.label(), native = a.label(), i386 = a.label(), notX32 = a.label();
  const withI386 = arches.includes("SCMP_ARCH_X86");
  // Far targets are reached through ja (32-bit offset): jt/jf reach 255 only.
  a.ld(ARCH);
  a.jeq(AUDIT_ARCH, native, "next");
  if (withI386) {
    a.jeq(AUDIT_ARCH_I386, "next", kill);
    a.ja(i386);
  }
  a.here(kill);
  a.ret(RET.KILL_PROCESS);
  a.here(native);
  a.ld(NR);
  a.jge(X32_SYSCALL_BIT, "next", notX32);
  a.ret(retValue("SCMP_ACT_ERRNO", Errno.EPERM));
  a.here(notX32);
  emitRules(a, spec, "x86_64");
  if (withI386) {
    a.here(i386);
    a.ld(NR);
    emitRules(a, spec, "i386");
  }
  return a.encode();
}

/** Filters compiled by this process, by profile: containers mostly share one. */
const compiled = new Map<string, Uint8Array>();

/**
 * compileSeccomp, remembered per profile (undefined: no filter). Compiling
 * takes a millisecond or more in the supervisor (V8 without its JIT); a
 * lookup, 0.02.
 */
export function seccompFilter(profile: Seccomp | undefined): Uint8Array | undefined {
  if (!profile) return undefined;
  const key = JSON.stringify(profile);
  let filter = compiled.get(key);
  if (!filter) {
    filter = compileSeccomp(profile);
    if (compiled.size > 64) compiled.clear();
    compiled.set(key, filter);
  }
  return filter;
}

/** With A = nr of `arch`: the search, then the rules in order, then the default action. */
function emitRules(a: Asm, spec: Seccomp, arch: Arch): void {
  const rules = (spec.syscalls ?? []).flatMap(splitRule).map((rule) => ({
    rule,
    nrs: rule.names.map((n) => syscallNr(n, arch)).filter((n): n is number => n !== undefined),
  })).filter((r) => r.nrs.length);
  const named = [...new Set(rules.flatMap((r) => r.nrs))].sort((x, y) => x - y);
  const chain = a.label();
  const defaultRet = retValue(spec.defaultAction, spec.defaultErrnoRet);
  emitSearch(a, named, chain, defaultRet);
  a.here(chain);
  for (const { rule, nrs } of rules) {
    const match = a.label(), next = a.label();
    a.ld(NR);
    // jt/jf reach 255 instructions: a long list goes in chunks, each with a ja to the match.
    if (nrs.length <= 128) { for (const nr of nrs) a.jeq(nr, match, "next"); }
    else {
      for (let i = 0; i < nrs.length; i += 128) {
        const hit = a.label(), miss = a.label();
        for (const nr of nrs.slice(i, i + 128)) a.jeq(nr, hit, "next");
        a.ja(miss);
        a.here(hit);
        a.ja(match);
        a.here(miss);
      }
    }
    a.ja(next);
    a.here(match);
    for (const c of rule.args ?? []) emitArg(a, c, next);
    // A rule's errno defaults to EPERM, not to defaultErrnoRet (runc, libseccomp).
    a.ret(retValue(rule.action, rule.errnoRet));
    a.here(next);
  }
  a.ret(defaultRet);
}

/**
 * A rule as libseccomp rules (runc's conversion): conditions on distinct
 * arguments stay one rule (all must hold); if an argument has several
 * conditions, each condition becomes a rule of its own (any may hold).
 */
export function splitRule(rule: SeccompRule): SeccompRule[] {
  const args = rule.args ?? [];
  const indexes = args.map((c) => c.index);
  if (new Set(indexes).size === indexes.length) return [rule];
  return args.map((c) => ({ ...rule, args: [c] }));
}

/**
 * With A = nr: jumps to `found` when nr is one of `sorted`, else returns
 * `otherwise`. Every jump is short (a far target goes through `ja`, whose
 * offset is 32 bits), so any number of syscalls compiles.
 */
function emitSearch(a: Asm, sorted: readonly number[], found: string, otherwise: number): void {
  if (sorted.length <= 4) {
    const hit = a.label();
    for (const n of sorted) a.jeq(n, hit, "next");
    a.ret(otherwise);
    a.here(hit);
    a.ja(found);
    return;
  }
  const mid = sorted.length >> 1;
  const high = a.label(), low = a.label();
  a.jge(sorted[mid]!, "next", low);
  a.ja(high);
  a.here(low);
  emitSearch(a, sorted.slice(0, mid), found, otherwise);
  a.here(high);
  emitSearch(a, sorted.slice(mid), found, otherwise);
}
