import assert from "node:assert/strict";
import { SyscallError } from "../ffi/syscall.ts";
import {
  errorFromWire,
  errorToWire,
  exitCodeOf,
  formatError,
  NotFoundError,
  TsboxError,
  UsageError,
} from "./errors.ts";

Deno.test("errorToWire/errorFromWire: a chain keeps its kinds, message and exit code", () => {
  const e = new TsboxError("run web", {
    cause: new TsboxError("container init", { cause: new SyscallError("mount", 1, '"proc"') }),
    exitCode: 126,
  });
  const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(e))));
  assert.equal(formatError(back), formatError(e));
  assert.equal(exitCodeOf(back), 126);
  const sc = (back.cause as Error).cause as Error & { syscall: string; errno: number };
  assert.equal(sc.name, "SyscallError");
  assert.equal(sc.syscall, "mount");
  assert.equal(sc.errno, 1);
});

Deno.test("errorFromWire: usage and not-found errors stay what they are", () => {
  assert.ok(errorFromWire(errorToWire(new UsageError("bad"))) instanceof UsageError);
  const nf = errorFromWire(errorToWire(new NotFoundError("no such image", { exitCode: 1 })));
  assert.ok(nf instanceof NotFoundError);
  assert.equal(exitCodeOf(nf), 1);
  assert.equal(formatError(errorFromWire(errorToWire("plain"))), "plain");
});
