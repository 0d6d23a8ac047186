import assert from "node:assert/strict";
import { Errno } from "../../ffi/errno.ts";
import { AUDIT_ARCH, AUDIT_ARCH_I386, I386_SYS } from "../../ffi/x86_64/syscalls.ts";
import { X86_64_TABLE } from "../../ffi/x86_64/syscall_table.ts";
import { type Arch, compileSeccomp, RET, seccompFlags, syscallNr } from "./bpf.ts";
import { CLONE_NAMESPACE_FLAGS, defaultSeccomp } from "./profile.ts";
import type { Seccomp } from "../spec/types.ts";

/** Instructions the last `run` executed. */
let steps = 0;

/** Runs a classic BPF program on a seccomp_data, as the kernel would (the opcodes the compiler uses). */
function run(prog: Uint8Array, nr: number, args: bigint[] = [], arch = AUDIT_ARCH): number {
  const data = new DataView(new ArrayBuffer(64));
  data.setInt32(0, nr, true);
  data.setUint32(4, arch, true);
  args.forEach((v, i) => data.setBigUint64(16 + 8 * i, v, true));
  const p = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  let A = 0;
  steps = 0;
  for (let pc = 0; pc < prog.length / 8;) {
    steps++;
    const code = p.getUint16(pc * 8, true),
      jt = p.getUint8(pc * 8 + 2),
      jf = p.getUint8(pc * 8 + 3);
    const k = p.getUint32(pc * 8 + 4, true);
    pc++;
    switch (code) {
      case 0x20:
        A = data.getUint32(k, true);
        break;
      case 0x54:
        A = (A & k) >>> 0;
        break;
      case 0x15:
        pc += A === k ? jt : jf;
        break;
      case 0x35:
        pc += A >= k ? jt : jf;
        break;
      case 0x25:
        pc += A > k ? jt : jf;
        break;
      case 0x05:
        pc += k;
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`opcode ${code}`);
    }
  }
  throw new Error("fell off the end");
}

const nr = (name: string) => syscallNr(name)!;
const EPERM = (RET.ERRNO | Errno.EPERM) >>> 0;

Deno.test("compileSeccomp: arch check, x32, default action, rules in order", () => {
  const prog = compileSeccomp({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      { names: ["keyctl", "add_key", "no_such_call"], action: "SCMP_ACT_ERRNO" },
      {
        names: ["personality"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
      },
      { names: ["personality"], action: "SCMP_ACT_KILL_PROCESS" },
      {
        names: ["kcmp"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: Errno.ENOSYS,
        args: [{ index: 1, value: 0x1_0000_0000, op: "SCMP_CMP_NE" }],
      },
    ],
  });
  assert.equal(run(prog, nr("read")), RET.ALLOW);
  assert.equal(run(prog, nr("keyctl")), EPERM);
  assert.equal(run(prog, nr("add_key")), EPERM);
  assert.equal(run(prog, nr("personality"), [8n]), RET.ALLOW);
  assert.equal(run(prog, nr("personality"), [8n + (1n << 32n)]), RET.KILL_PROCESS, "high word");
  assert.equal(run(prog, nr("kcmp"), [0n, 0x1_0000_0000n]), RET.ALLOW);
  assert.equal(run(prog, nr("kcmp"), [0n, 1n]), (RET.ERRNO | Errno.ENOSYS) >>> 0);
  assert.equal(run(prog, nr("read"), [], 0x40000003 /* i386 */), RET.KILL_PROCESS);
  assert.equal(run(prog, 0x40000000 + nr("keyctl")), EPERM, "x32 numbers");
});

Deno.test("compileSeccomp: bad profiles are refused", () => {
  assert.throws(
    () => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_AARCH64"] }),
    /does not cover SCMP_ARCH_X86_64/,
  );
  assert.throws(
    () =>
      compileSeccomp({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["read"],
          action: "SCMP_ACT_ALLOW",
          // deno-lint-ignore no-explicit-any
          args: [{ index: 0, value: 1, op: "SCMP_CMP_LIKE" as any }],
        }],
      }),
    /unsupported comparison "SCMP_CMP_LIKE"/,
  );
});

Deno.test("defaultSeccomp: Docker's refusals, unlocked by capabilities", () => {
  const docker14 = ["CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE", "CAP_KILL"];
  const prog = compileSeccomp(defaultSeccomp(docker14));
  for (const n of ["keyctl", "userfaultfd", "io_uring_setup", "unshare", "setns", "mount", "bpf"]) {
    assert.equal(run(prog, nr(n)), EPERM, n);
  }
  for (const n of ["read", "openat", "execve", "capset", "setresuid", "close_range", "ptrace"]) {
    assert.equal(run(prog, nr(n)), RET.ALLOW, n);
  }
  // clone: threads and forks yes, new namespaces no; clone3 hides behind ENOSYS.
  assert.equal(run(prog, nr("clone"), [0x3d0f00n]), RET.ALLOW, "pthread_create's flags");
  assert.equal(run(prog, nr("clone"), [0x11n /* SIGCHLD */]), RET.ALLOW);
  assert.equal(run(prog, nr("clone"), [0x10000000n | 0x11n]), EPERM, "CLONE_NEWUSER");
  assert.equal(run(prog, nr("clone3")), (RET.ERRNO | Errno.ENOSYS) >>> 0);
  assert.equal(run(prog, nr("personality"), [0xffffffffn]), RET.ALLOW);
  assert.equal(run(prog, nr("personality"), [0x0040000n /* ADDR_NO_RANDOMIZE */]), EPERM);
  assert.equal(CLONE_NAMESPACE_FLAGS & 0x3d0f00, 0);
  // 32-bit programs: the same refusals through the i386 numbers; other ABIs are killed.
  assert.equal(run(prog, I386_SYS.keyctl!, [], AUDIT_ARCH_I386), EPERM);
  assert.equal(run(prog, I386_SYS.clone!, [0x10000000n], AUDIT_ARCH_I386), EPERM);
  assert.equal(run(prog, 3, /* i386 read */ [], AUDIT_ARCH_I386), RET.ALLOW);
  assert.equal(run(prog, nr("keyctl"), /* 250: i386 fadvise64 */ [], AUDIT_ARCH_I386), RET.ALLOW);
  assert.equal(run(prog, 0, [], 0xc00000b7 /* aarch64 */), RET.KILL_PROCESS);

  const admin = compileSeccomp(defaultSeccomp([...docker14, "CAP_SYS_ADMIN", "CAP_SYS_TIME"]));
  for (const n of ["unshare", "setns", "mount", "clone3", "settimeofday"]) {
    assert.equal(run(admin, nr(n)), RET.ALLOW, `${n} with the capability`);
  }
  assert.equal(run(admin, nr("clone"), [0x10000000n]), RET.ALLOW);
  assert.equal(run(admin, nr("keyctl")), EPERM, "the keyring stays refused");
});

/** What `spec` decides for (nr, args), evaluated directly from the rules, first match wins. */
function reference(spec: Seccomp, nr: number, args: bigint[], arch: Arch): number {
  const ret = (action: string, errno?: number) =>
    action === "SCMP_ACT_ALLOW" ? RET.ALLOW : (RET.ERRNO | (errno ?? Errno.EPERM)) >>> 0;
  for (const r of spec.syscalls ?? []) {
    if (!r.names.map((n) => syscallNr(n, arch)).includes(nr)) continue;
    const ok = (r.args ?? []).every((c) => {
      const v = args[c.index] ?? 0n, x = BigInt(c.value), y = BigInt(c.valueTwo ?? 0);
      return c.op === "SCMP_CMP_EQ" ? v === x : c.op === "SCMP_CMP_NE" ? v !== x : (v & x) === y;
    });
    if (ok) return ret(r.action, r.errnoRet);
  }
  return ret(spec.defaultAction, spec.defaultErrnoRet);
}

Deno.test("compileSeccomp: every syscall number gets what the rules say; hot ones in few steps", () => {
  for (const caps of [[], ["CAP_SYS_ADMIN"], ["CAP_SYS_NICE", "CAP_SYSLOG"]]) {
    const spec = defaultSeccomp(caps);
    const prog = compileSeccomp(spec);
    for (const [arch, audit] of [["x86_64", AUDIT_ARCH], ["i386", AUDIT_ARCH_I386]] as const) {
      for (let n = 0; n < 460; n++) {
        for (const args of [[], [0x10000000n], [8n], [0x3d0f00n]]) {
          assert.equal(
            run(prog, n, args, audit),
            reference(spec, n, args, arch),
            `${arch} syscall ${n} ${args}`,
          );
        }
      }
    }
  }
  const prog = compileSeccomp(defaultSeccomp([]));
  for (const n of ["read", "write", "sendmsg", "recvfrom", "futex", "epoll_wait", "openat"]) {
    run(prog, nr(n));
    assert.ok(steps <= 20, `${n}: ${steps} instructions`);
  }
});

Deno.test("compileSeccomp: LT, LE, GT, GE compare unsigned 64-bit values, high word first", () => {
  const values = [0n, 1n, 5n, 6n, 0xffffffffn, 1n << 32n, (1n << 32n) + 5n, 0xffffffffffffffffn];
  const ops = {
    SCMP_CMP_LT: (a: bigint, b: bigint) => a < b,
    SCMP_CMP_LE: (a: bigint, b: bigint) => a <= b,
    SCMP_CMP_GT: (a: bigint, b: bigint) => a > b,
    SCMP_CMP_GE: (a: bigint, b: bigint) => a >= b,
  } as const;
  for (const [op, holds] of Object.entries(ops)) {
    for (const v of [5n, (1n << 32n) + 5n]) {
      const prog = compileSeccomp({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 0, value: Number(v), op: op as keyof typeof ops }],
        }],
      });
      for (const a of values) {
        assert.equal(
          run(prog, nr("personality"), [a]),
          holds(a, v) ? EPERM : RET.ALLOW,
          `${a} ${op} ${v}`,
        );
      }
    }
  }
});

Deno.test("compileSeccomp: conditions on distinct args all hold; on one arg, any holds (runc)", () => {
  const both = compileSeccomp({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{
      names: ["kcmp"],
      action: "SCMP_ACT_ERRNO",
      args: [
        { index: 0, value: 1, op: "SCMP_CMP_EQ" },
        { index: 1, value: 2, op: "SCMP_CMP_EQ" },
      ],
    }],
  });
  assert.equal(run(both, nr("kcmp"), [1n, 2n]), EPERM);
  assert.equal(run(both, nr("kcmp"), [1n, 3n]), RET.ALLOW);
  const either = compileSeccomp({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{
      names: ["kcmp"],
      action: "SCMP_ACT_ERRNO",
      args: [
        { index: 0, value: 1, op: "SCMP_CMP_EQ" },
        { index: 0, value: 7, op: "SCMP_CMP_EQ" },
      ],
    }],
  });
  assert.equal(run(either, nr("kcmp"), [1n]), EPERM);
  assert.equal(run(either, nr("kcmp"), [7n]), EPERM);
  assert.equal(run(either, nr("kcmp"), [2n]), RET.ALLOW);
});

Deno.test("compileSeccomp: defaultErrnoRet, TRACE, any x86_64 name, NOTIFY refused, flags", () => {
  const prog = compileSeccomp({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: Errno.ENOSYS,
    syscalls: [
      { names: ["accept4", "read"], action: "SCMP_ACT_ALLOW" },
      { names: ["getcpu"], action: "SCMP_ACT_TRACE", errnoRet: 7 },
    ],
  });
  assert.equal(run(prog, syscallNr("accept4")!), RET.ALLOW, "a name tsbox never calls");
  assert.equal(run(prog, nr("write")), (RET.ERRNO | Errno.ENOSYS) >>> 0);
  assert.equal(run(prog, syscallNr("getcpu")!), (RET.TRACE | 7) >>> 0);
  assert.throws(
    () => compileSeccomp({ defaultAction: "SCMP_ACT_NOTIFY" }),
    /SCMP_ACT_NOTIFY is not supported/,
  );
  assert.equal(
    seccompFlags({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG"] }),
    2,
  );
  assert.throws(
    () => seccompFlags({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_X"] }),
    /unknown flag/,
  );
});

Deno.test("compileSeccomp: a rule may name every syscall (jumps stay short)", () => {
  const names = Object.keys(X86_64_TABLE).filter((n) => n !== "getpriority");
  const prog = compileSeccomp({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 99,
    syscalls: [{ names, action: "SCMP_ACT_ALLOW" }],
  });
  for (const n of names) assert.equal(run(prog, X86_64_TABLE[n]!), RET.ALLOW, n);
  assert.equal(run(prog, nr("getpriority")), (RET.ERRNO | 99) >>> 0);
});
