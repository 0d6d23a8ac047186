import assert from "node:assert/strict";
import { O, PR, RESOLVE } from "../../ffi/constants.ts";
import { readMemory } from "../../ffi/mem.ts";
import { Reg } from "../../ffi/program.ts";
import { SYS } from "../../ffi/x86_64/syscalls.ts";
import { lower } from "./lower.ts";
import { childError } from "./executor.ts";
import { formatError } from "../errors.ts";

/** The syscall names of the ops, in order. */
function names(ops: { nr: number }[]): string[] {
  const byNr = new Map<number, string>(Object.entries(SYS).map(([k, v]) => [v, k]));
  return ops.map((o) => byNr.get(o.nr) ?? String(o.nr));
}

Deno.test("lower close-fds closes every gap between the kept fds, then the rest", () => {
  const { builder } = lower([{ op: "close-fds", keep: [8, 5, 1, 7, 5] }]);
  const ops = builder.ops;
  assert.deepEqual(names(ops), ["close_range", "close_range", "close_range"]);
  assert.deepEqual(ops.map((o) => o.args.slice(0, 3)), [
    [3n, 4n, 0n],
    [6n, 6n, 0n],
    [9n, 0xffffffffn, 0n],
  ]);
  const none = lower([{ op: "close-fds", keep: [] }]).builder.ops;
  assert.deepEqual(none.map((o) => o.args.slice(0, 3)), [[3n, 0xffffffffn, 0n]]);
  const from3 = lower([{ op: "close-fds", keep: [3, 4] }]).builder.ops;
  assert.deepEqual(from3.map((o) => o.args.slice(0, 3)), [[5n, 0xffffffffn, 0n]]);
});

Deno.test("lower chdir refuses magic links and checks getcwd is an absolute path", () => {
  const { builder, labels } = lower([{ op: "chdir", path: "/app" }]);
  const ops = builder.ops;
  assert.deepEqual(names(ops), ["openat2", "fchdir", "close", "getcwd", "openat", "close"]);
  // struct open_how { flags, mode, resolve }
  const how = new BigUint64Array(readMemory(ops[0]!.args[2] as bigint, 24).buffer);
  assert.equal(how[0], BigInt(O.PATH | O.DIRECTORY | O.CLOEXEC));
  assert.equal(how[2], BigInt(RESOLVE.NO_MAGICLINKS));
  const dir = ops[0]!.dst;
  assert.ok(dir > 0);
  assert.ok(ops[1]!.args[0] instanceof Reg && ops[1]!.args[0].index === dir, "fchdir of that fd");
  // getcwd's buffer is the path openat reads, with dirfd -1: a relative answer fails (EBADF).
  assert.equal(ops[3]!.args[0], ops[4]!.args[1]);
  assert.equal(ops[4]!.args[0], -1n);
  assert.match(labels[4]!.message!, /working directory "\/app" is outside the container's root/);
});

Deno.test("lower hide-exe unmaps the executable, then sets exe_fd with PR_SET_MM_MAP", () => {
  const mm = Array.from({ length: 11 }, (_, i) => BigInt(0x10000 * (i + 1)));
  const { builder } = lower([{
    op: "hide-exe",
    exeFd: 42,
    unmap: [{ start: 0x400000n, length: 0x1000n }, { start: 0x500000n, length: 0x3000n }],
    mm,
  }]);
  const ops = builder.ops;
  assert.deepEqual(names(ops), ["munmap", "munmap", "prctl"]);
  assert.deepEqual(ops[1]!.args.slice(0, 2), [0x500000n, 0x3000n]);
  const prctl = ops[2]!;
  assert.deepEqual([prctl.args[0], prctl.args[1], prctl.args[3]], [
    BigInt(PR.SET_MM),
    BigInt(PR.SET_MM_MAP),
    104n,
  ]);
  const map = new DataView(readMemory(prctl.args[2] as bigint, 104).buffer);
  assert.deepEqual(Array.from({ length: 11 }, (_, i) => map.getBigUint64(8 * i, true)), mm);
  assert.equal(map.getBigUint64(88, true), 0n, "no auxv");
  assert.equal(map.getUint32(96, true), 0, "auxv_size");
  assert.equal(map.getUint32(100, true), 42, "exe_fd");
});

Deno.test("childError says a working directory outside the root is refused", () => {
  const steps = [{ op: "chdir" as const, path: "/app" }];
  const { labels } = lower(steps);
  const e = childError(steps, labels, 4, -9 /* EBADF */);
  assert.equal(
    formatError(e),
    "container init: working directory \"/app\" is outside the container's root: openat the working directory's absolute path: EBADF (Bad file descriptor)",
  );
});
