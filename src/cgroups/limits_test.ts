import assert from "node:assert/strict";
import { readKernelLimits } from "./limits.ts";

function write(dir: string, files: Record<string, string>): void {
  Deno.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) Deno.writeTextFileSync(`${dir}/${name}`, text);
}

Deno.test("readKernelLimits: cgroup v1 files, each figure with its file; no limit reads null", () => {
  const root = Deno.makeTempDirSync({ prefix: "tsbox-cgtest-" });
  try {
    write(`${root}/memory/tsbox/a`, {
      "memory.limit_in_bytes": "67108864\n",
      "memory.usage_in_bytes": "1048576\n",
    });
    write(`${root}/pids/tsbox/a`, { "pids.max": "max\n", "pids.current": "3\n" });
    write(`${root}/cpu/tsbox/a`, {
      "cpu.cfs_quota_us": "50000\n",
      "cpu.cfs_period_us": "100000\n",
    });
    write(`${root}/cpuacct/tsbox/a`, { "cpuacct.usage": "123456789\n" });
    write(`${root}/memory/tsbox`, { "memory.limit_in_bytes": "9223372036854771712\n" });
    const layout = {
      mode: "legacy" as const,
      v1: {
        memory: `${root}/memory`,
        pids: `${root}/pids`,
        cpu: `${root}/cpu`,
        cpuacct: `${root}/cpuacct`,
      },
      named: {},
    };
    const k = readKernelLimits(layout, "tsbox/a");
    assert.deepEqual(k.memory, {
      value: 67108864,
      file: `${root}/memory/tsbox/a/memory.limit_in_bytes`,
    });
    assert.equal(k.memoryUsage?.value, 1048576);
    assert.equal(k.pids?.value, null);
    assert.equal(k.pidsCurrent?.value, 3);
    assert.equal(k.cpus?.value, 0.5);
    assert.equal(k.cpuUsageNs?.value, 123456789);
    assert.equal(readKernelLimits(layout, "tsbox").memory?.value, null);
    assert.deepEqual(readKernelLimits(layout, "tsbox/missing"), {});
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("readKernelLimits: cgroup v2 files", () => {
  const root = Deno.makeTempDirSync({ prefix: "tsbox-cgtest-" });
  try {
    write(`${root}/tsbox/a`, {
      "memory.max": "134217728\n",
      "memory.current": "4096\n",
      "pids.max": "100\n",
      "pids.current": "1\n",
      "cpu.max": "max 100000\n",
      "cpu.stat": "usage_usec 2500\nuser_usec 2000\n",
    });
    const k = readKernelLimits({ mode: "unified", v2Root: root, v1: {}, named: {} }, "tsbox/a");
    assert.deepEqual(
      [k.memory?.value, k.memoryUsage?.value, k.pids?.value, k.pidsCurrent?.value, k.cpus?.value],
      [134217728, 4096, 100, 1, null],
    );
    assert.equal(k.cpuUsageNs?.value, 2_500_000);
    assert.equal(k.pids?.file, `${root}/tsbox/a/pids.max`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
