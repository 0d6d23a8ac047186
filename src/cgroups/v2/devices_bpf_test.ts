import assert from "node:assert/strict";
import { DOCKER_DEFAULT_DEVICE_RULES } from "../default_devices.ts";
import type { DeviceRule } from "../resources.ts";
import {
  accessBits,
  and32,
  deviceFilter,
  encodeInsns,
  exit,
  formatInsn,
  type Insn,
  jeq,
  jne,
  jneReg,
  ldxw,
  mov32,
  mov32Reg,
  OP,
  rsh32,
} from "./devices_bpf.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("encodeInsns: each instruction is code, src<<4|dst, off (s16 LE), imm (s32 LE)", () => {
  assert.equal(hex(encodeInsns([ldxw(2, 1, 0)])), "61 12 00 00 00 00 00 00");
  assert.equal(hex(encodeInsns([ldxw(4, 1, 4)])), "61 14 04 00 00 00 00 00");
  assert.equal(hex(encodeInsns([and32(2, 0xffff)])), "54 02 00 00 ff ff 00 00");
  assert.equal(hex(encodeInsns([rsh32(3, 16)])), "74 03 00 00 10 00 00 00");
  assert.equal(hex(encodeInsns([mov32Reg(1, 3)])), "bc 31 00 00 00 00 00 00");
  assert.equal(hex(encodeInsns([mov32(0, 1)])), "b4 00 00 00 01 00 00 00");
  assert.equal(hex(encodeInsns([jne(2, 2, 3)])), "55 02 03 00 02 00 00 00");
  assert.equal(hex(encodeInsns([jneReg(1, 3, 7)])), "5d 31 07 00 00 00 00 00");
  assert.equal(hex(encodeInsns([jeq(1, 0, 5)])), "15 01 05 00 00 00 00 00");
  assert.equal(hex(encodeInsns([jne(4, 136, 300)])), "55 04 2c 01 88 00 00 00");
  assert.equal(hex(encodeInsns([exit()])), "95 00 00 00 00 00 00 00");
  assert.equal(hex(encodeInsns([mov32(0, -1)])), "b4 00 00 00 ff ff ff ff");
});

Deno.test("deviceFilter: deny all then allow /dev/null, byte for byte", () => {
  const prog = deviceFilter([
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  ]);
  assert.equal(
    hex(encodeInsns(prog)),
    [
      "61 12 00 00 00 00 00 00", // r2 = *(u32 *)(r1 +0)
      "54 02 00 00 ff ff 00 00", // w2 &= 0xffff
      "61 13 00 00 00 00 00 00", // r3 = *(u32 *)(r1 +0)
      "74 03 00 00 10 00 00 00", // w3 >>= 16
      "61 14 04 00 00 00 00 00", // r4 = major
      "61 15 08 00 00 00 00 00", // r5 = minor
      "55 02 04 00 02 00 00 00", // if r2 != CHAR goto +4
      "55 04 03 00 01 00 00 00", // if r4 != 1 goto +3
      "55 05 02 00 03 00 00 00", // if r5 != 3 goto +2
      "b4 00 00 00 01 00 00 00", // w0 = 1
      "95 00 00 00 00 00 00 00", // exit
      "b4 00 00 00 00 00 00 00", // w0 = 0 (the "a" deny rule)
      "95 00 00 00 00 00 00 00", // exit
    ].join(" "),
  );
});

Deno.test("deviceFilter: partial access and wildcards, as text", () => {
  const prog = deviceFilter([
    { allow: true, type: "c", major: null, minor: null, access: "m" },
    { allow: false, type: "b", major: 8, access: "w" },
  ]);
  assert.deepEqual(prog.slice(6).map(formatInsn), [
    // last rule first: deny writes to block major 8
    "if r2 != 1 goto pc+6",
    "w1 = w3",
    "w1 &= 4",
    "if r1 == 0 goto pc+3",
    "if r4 != 8 goto pc+2",
    "w0 = 0",
    "exit",
    // allow mknod of any char device
    "if r2 != 2 goto pc+5",
    "w1 = w3",
    "w1 &= 1",
    "if r1 != r3 goto pc+2",
    "w0 = 1",
    "exit",
    // no "a" rule: default deny
    "w0 = 0",
    "exit",
  ]);
});

/** Runs a device filter the way the kernel would, for the instructions deviceFilter emits. */
function run(prog: readonly Insn[], type: "c" | "b", major: number, minor: number, acc: string) {
  const ctx = [(accessBits(acc) << 16) | (type === "b" ? 1 : 2), major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < prog.length; pc++) {
    const i = prog[pc]!;
    switch (i.code) {
      case OP.LDXW:
        r[i.dst] = ctx[i.off / 4]!;
        break;
      case OP.AND32_K:
        r[i.dst] = (r[i.dst]! & i.imm) >>> 0;
        break;
      case OP.RSH32_K:
        r[i.dst] = r[i.dst]! >>> i.imm;
        break;
      case OP.MOV32_X:
        r[i.dst] = r[i.src]!;
        break;
      case OP.MOV32_K:
        r[i.dst] = i.imm >>> 0;
        break;
      case OP.JNE_K:
        if (r[i.dst] !== i.imm) pc += i.off;
        break;
      case OP.JNE_X:
        if (r[i.dst] !== r[i.src]) pc += i.off;
        break;
      case OP.JEQ_K:
        if (r[i.dst] === i.imm) pc += i.off;
        break;
      case OP.EXIT:
        return r[0] === 1;
      default:
        throw new Error(`unknown opcode ${i.code}`);
    }
  }
  throw new Error("fell off the end of the program");
}

Deno.test("deviceFilter: Docker's default list allows the usual devices and nothing else", () => {
  const prog = deviceFilter(DOCKER_DEFAULT_DEVICE_RULES);
  for (const [maj, min] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2]]) {
    assert.equal(run(prog, "c", maj!, min!, "rw"), true, `c ${maj}:${min} rw`);
  }
  assert.equal(run(prog, "c", 136, 4, "rw"), true, "pts");
  assert.equal(run(prog, "c", 10, 200, "rw"), true, "tun");
  assert.equal(run(prog, "c", 10, 229, "rw"), false, "fuse");
  assert.equal(run(prog, "c", 10, 229, "m"), true, "mknod of fuse");
  assert.equal(run(prog, "b", 8, 0, "r"), false, "sda read");
  assert.equal(run(prog, "b", 8, 0, "m"), true, "mknod sda");
  assert.equal(run(prog, "c", 4, 1, "w"), false, "tty1");
});

Deno.test("deviceFilter: the last matching rule wins; deny matches any requested access", () => {
  const rules: DeviceRule[] = [
    { allow: true, access: "rwm" },
    { allow: false, type: "c", major: 1, minor: 3, access: "r" },
  ];
  const prog = deviceFilter(rules);
  assert.equal(run(prog, "c", 1, 3, "r"), false);
  assert.equal(run(prog, "c", 1, 3, "rw"), false, "a read-write open asks for read too");
  assert.equal(run(prog, "c", 1, 3, "w"), true);
  assert.equal(run(prog, "c", 1, 5, "r"), true);
  // Reversed order: the allow-all comes last and wins.
  assert.equal(run(deviceFilter([...rules].reverse()), "c", 1, 3, "r"), true);
  // Allow needs every requested access.
  const ro = deviceFilter([{ allow: true, type: "c", major: 1, minor: 3, access: "r" }]);
  assert.equal(run(ro, "c", 1, 3, "r"), true);
  assert.equal(run(ro, "c", 1, 3, "rw"), false);
  assert.equal(run(deviceFilter([]), "c", 1, 3, "r"), false, "empty program denies");
});
