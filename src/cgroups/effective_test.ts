import assert from "node:assert/strict";
import { effectiveLimits } from "./effective.ts";

const MiB = 1024 * 1024;

Deno.test("effectiveLimits: the tightest limit along the chain binds each level", () => {
  const [a, b, c] = effectiveLimits([
    { memory: { limit: 64 * MiB }, pids: { limit: 10 }, cpu: { quota: 50000, cpus: "0-3" } },
    { memory: { limit: 128 * MiB }, pids: { limit: 5 }, cpu: { quota: 150000, cpus: "2-5" } },
    { memory: { limit: -1 }, cpu: { quota: 20000, period: 100000 } },
  ]);
  assert.deepEqual(a, {
    memory: 64 * MiB,
    memorySwap: null,
    pids: 10,
    cpuRate: 0.5,
    cpus: [0, 1, 2, 3],
    mems: null,
  });
  assert.equal(b!.memory, 64 * MiB);
  assert.equal(b!.pids, 5);
  assert.equal(b!.cpuRate, 0.5);
  assert.deepEqual(b!.cpus, [2, 3]);
  assert.equal(c!.memory, 64 * MiB, "-1 (unlimited) inherits");
  assert.equal(c!.cpuRate, 0.2);
  assert.deepEqual(c!.cpus, [2, 3]);
});

Deno.test("effectiveLimits: unset levels inherit; host sets seed the cpuset", () => {
  const [a, b] = effectiveLimits([{}, { cpu: { mems: "0" } }], { cpus: [0, 1], mems: [0, 1] });
  assert.deepEqual(a, {
    memory: null,
    memorySwap: null,
    pids: null,
    cpuRate: null,
    cpus: [0, 1],
    mems: [0, 1],
  });
  assert.deepEqual(b!.mems, [0]);
  assert.deepEqual(b!.cpus, [0, 1]);
  assert.deepEqual(effectiveLimits([]), []);
});
