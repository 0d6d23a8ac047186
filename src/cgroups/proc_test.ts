import assert from "node:assert/strict";
import { formatProcCgroup, parseProcCgroup, procCgroupPath } from "./proc.ts";

const TEXT = "9:name=systemd:/\n4:memory:/tsbox/abc\n1:cpu,cpuacct:/tsbox/abc\n0::/tsbox/abc\n";

Deno.test("parseProcCgroup: v1 and v2 lines", () => {
  const e = parseProcCgroup(TEXT);
  assert.equal(e.length, 4);
  assert.deepEqual(e[2], { hierarchy: 1, controllers: ["cpu", "cpuacct"], path: "/tsbox/abc" });
  assert.equal(procCgroupPath(e, ""), "/tsbox/abc");
  assert.equal(procCgroupPath(e, "cpuacct"), "/tsbox/abc");
  assert.equal(procCgroupPath(e, "name=systemd"), "/");
  assert.equal(procCgroupPath(e, "pids"), undefined);
  assert.equal(formatProcCgroup(e), TEXT);
});
