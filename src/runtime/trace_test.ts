import assert from "node:assert/strict";
import { parentSyscalls, Tracer } from "./trace.ts";

Deno.test("Tracer: each printed step is kept as a record, starting where the last one ended", () => {
  const lines: string[] = [];
  const t = new Tracer(true, (l) => lines.push(l));
  t.run("first", () => {});
  t.line("child", "mount", undefined, "0", ["mount"]);
  assert.equal(lines.length, 2);
  assert.equal(t.records.length, 2);
  const [a, b] = t.records;
  assert.equal(a!.lane, "parent");
  assert.equal(b!.lane, "child");
  assert.deepEqual(b!.syscalls, ["mount"]);
  assert.equal(b!.result, "0");
  assert.ok(a!.startMs <= a!.endMs && a!.endMs <= b!.startMs + 1e-9 && b!.startMs <= b!.endMs);
  t.run("clone3 into new pid namespaces", () => {});
  assert.deepEqual(t.records.at(-1)!.syscalls, ["clone3"]);
  const off = new Tracer(false, () => assert.fail("a disabled tracer prints nothing"));
  off.line("parent", "x");
  assert.equal(off.records.length, 0);
});

Deno.test("parentSyscalls: the kernel calls behind the parent's steps", () => {
  assert.deepEqual(parentSyscalls("create cgroup tsbox/abc"), ["mkdir", "write"]);
  assert.deepEqual(parentSyscalls("net: veth vethab <-> eth0 in /proc/1/ns/net"), ["RTM_NEWLINK"]);
  assert.deepEqual(parentSyscalls("validate the request and record the container"), []);
});
