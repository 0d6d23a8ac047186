// The clone trampoline and its syscall-program interpreter against the real
// kernel: a failing step is reported with its exact index and errno, results
// flow through registers, and 1000 clones into fresh namespaces in a row
// neither fail nor hang.

import assert from "node:assert/strict";
import { O } from "../ffi/constants.ts";
import { decodeRecords, encodeProgram, ERROR_RECORD_SIZE, ProgramBuilder } from "../ffi/program.ts";
import { spawn } from "../ffi/spawn.ts";
import { sys, sysRaw } from "../ffi/syscall.ts";
import { cloneFlags } from "../src/runtime/namespaces.ts";
import { reap } from "../src/runtime/process.ts";
import { requires } from "./lib/harness.ts";

function pipe(): [number, number] {
  const p = new Int32Array(2);
  sys("pipe2", [p, O.CLOEXEC]);
  return [p[0]!, p[1]!];
}

/** Runs a program in a child; returns the failure record (or undefined after execve/exit 0) and the exit code. */
function runProgram(
  b: ProgramBuilder,
  flags: bigint,
): { failure?: { index: number; result: number }; code: number } {
  const [r, w] = pipe();
  const prog = encodeProgram(b.ops, w, -1);
  const child = spawn({ program: prog, flags });
  sysRaw("close", [w]);
  const buf = new Uint8Array(ERROR_RECORD_SIZE);
  const n = sys("read", [r, buf, buf.length]);
  sysRaw("close", [r]);
  const status = reap(child.pidfd);
  sysRaw("close", [child.pidfd]);
  return {
    ...(n > 0 ? { failure: decodeRecords(buf, ERROR_RECORD_SIZE)[0]! } : {}),
    code: status.code,
  };
}

Deno.test({
  name: "interpreter reports the index and errno of the failing step",
  ...requires("root"),
  fn() {
    const b = new ProgramBuilder();
    b.syscall("getpid", []);
    b.syscall("mkdir", ["/proc/no/such/dir", 0o755], { continueOnError: true }); // failure tolerated
    b.syscall("mkdir", ["/", 0o755], { okErrno: 17 }); // EEXIST counts as success
    b.syscall("mount", ["none", "/nonexistent-tsbox-target", "tmpfs", 0, null]);
    b.syscall("getpid", []);
    const r = runProgram(b, cloneFlags(["mount"]));
    assert.deepEqual(r.failure, { index: 3, result: -2 }); // mount: ENOENT
    assert.equal(r.code, 125);
  },
});

Deno.test({
  name: "interpreter passes results through registers and checks expected values",
  ...requires("root"),
  fn() {
    const b = new ProgramBuilder();
    const fd = b.reg();
    b.syscall("open", ["/dev/null", O.WRONLY], { dst: fd });
    b.syscall("write", [fd, "four", 4], { expect: 4 }); // passes
    b.syscall("write", [fd, "four", 4], { expect: 5 }); // fails with the result
    const r = runProgram(b, 0n);
    assert.deepEqual(r.failure, { index: 2, result: 4 });
  },
});

Deno.test({
  name:
    "1000 clones into user, pid, net, mount, uts and ipc namespaces run without a failure or hang",
  ...requires("root", "userns"),
  fn() {
    const flags = cloneFlags(["user", "pid", "network", "mount", "uts", "ipc"]);
    const b = new ProgramBuilder();
    b.syscall("execve", ["/bin/true", b.arena.cstrArray(["true"]), b.arena.cstrArray([])]);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const r = runProgram(b, flags);
      assert.equal(r.failure, undefined, `clone ${i} failed`);
      assert.equal(r.code, 0, `clone ${i} exited ${r.code}`);
    }
    const ms = (performance.now() - t0) / 1000;
    console.log(`  ${ms.toFixed(2)} ms per clone + execve + exit`);
  },
});
