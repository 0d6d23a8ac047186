import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import {
  cpusToQuota,
  resourceProblems,
  validateResources,
  type ValidationContext,
} from "./validate.ts";

const MiB = 1024 * 1024;
const v1: ValidationContext = { version: 1, hostCpus: 2, parentCpus: [0, 1], parentMems: [0] };
const v2: ValidationContext = { ...v1, version: 2 };

Deno.test("resourceProblems: a sound request has none", () => {
  const r = {
    memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB, swappiness: 10 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
    pids: { limit: 100 },
    blockIO: { weight: 500 },
    devices: [{ allow: false, access: "rwm" }, {
      allow: true,
      type: "c" as const,
      major: 1,
      minor: 3,
    }],
    network: { classID: 0x100001 },
  };
  assert.deepEqual(resourceProblems(r, v1), []);
  assert.deepEqual(resourceProblems({ pids: { limit: -1 }, memory: { limit: -1 } }, v2), []);
});

Deno.test("validateResources: memory below 6 MiB, as Docker says it", () => {
  assert.throws(
    () => validateResources({ memory: { limit: 4 * MiB } }, v1),
    (e: unknown) => e instanceof UsageError && e.message === "minimum memory limit allowed is 6MB",
  );
  assert.deepEqual(resourceProblems({ memory: { limit: 64 * MiB, swap: 32 * MiB } }, v1), [
    "minimum memoryswap limit should be larger than memory limit, see usage",
  ]);
  assert.deepEqual(resourceProblems({ memory: { swap: 32 * MiB } }, v1), [
    "you should always set the memory limit when using memoryswap limit, see usage",
  ]);
  assert.deepEqual(resourceProblems({ memory: { limit: 8 * MiB, reservation: 16 * MiB } }, v1), [
    "minimum memory limit can not be less than memory reservation limit, see usage",
  ]);
  assert.deepEqual(resourceProblems({ memory: { swappiness: 101 } }, v1), [
    "invalid value: 101, valid memory swappiness range is 0-100",
  ]);
});

Deno.test("resourceProblems: CPU quota beyond the host or the v1 parent", () => {
  assert.deepEqual(resourceProblems({ cpu: { quota: 300000, period: 100000 } }, v1), [
    "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
  ]);
  assert.match(
    resourceProblems({ cpu: { quota: 150000 } }, { ...v1, parentCpuRate: 0.5 })[0]!,
    /cpu quota of 1.50 CPUs exceeds the parent group's 0.50 CPUs/,
  );
  assert.deepEqual(resourceProblems({ cpu: { quota: 150000 } }, { ...v2, parentCpuRate: 0.5 }), []);
  assert.deepEqual(resourceProblems({ cpu: { quota: 500 } }, v1), [
    "cpu cfs quota can not be less than 1ms (i.e. 1000)",
  ]);
  assert.match(resourceProblems({ cpu: { period: 500 } }, v1)[0]!, /cfs period can not be less/);
});

Deno.test("resourceProblems: cpusets must be within the parent's effective set", () => {
  assert.deepEqual(resourceProblems({ cpu: { cpus: "0-4" } }, v1), [
    "requested CPUs are not available - requested 0-4, available: 0-1",
  ]);
  assert.deepEqual(resourceProblems({ cpu: { mems: "1" } }, v1), [
    "requested memory nodes are not available - requested 1, available: 0",
  ]);
  assert.match(resourceProblems({ cpu: { cpus: "0-" } }, v1)[0]!, /invalid CPU list "0-"/);
});

Deno.test("resourceProblems: blkio weight, pids, devices", () => {
  assert.deepEqual(resourceProblems({ blockIO: { weight: 5 } }, v1), [
    "range of blkio weight is from 10 to 1000",
  ]);
  assert.deepEqual(resourceProblems({ blockIO: { weight: 1001 } }, v2), [
    "range of blkio weight is from 10 to 1000",
  ]);
  assert.match(resourceProblems({ pids: { limit: 0 } }, v1)[0]!, /invalid pids limit 0/);
  assert.match(resourceProblems({ pids: { limit: -2 } }, v1)[0]!, /invalid pids limit -2/);
  assert.deepEqual(
    resourceProblems({ devices: [{ allow: true, type: "x" as "a", access: "rwx" }] }, v1),
    [
      'device rule 0: invalid type "x" (use a, b or c)',
      'device rule 0: invalid access "rwx" (use some of rwm)',
    ],
  );
});

Deno.test("resourceProblems: v1-only and v2-only settings name the host's version", () => {
  assert.deepEqual(resourceProblems({ network: { classID: 0x100001 } }, v2), [
    "net_cls is a cgroup v1 controller; this host uses cgroup v2",
  ]);
  assert.deepEqual(resourceProblems({ memory: { swappiness: 10 } }, v2), [
    "memory.swappiness is a cgroup v1 setting; this host uses cgroup v2",
  ]);
  assert.deepEqual(resourceProblems({ unified: { "memory.high": "1G" } }, v1), [
    "unified resources need cgroup v2; this host uses cgroup v1",
  ]);
  assert.deepEqual(resourceProblems({ unified: { "cgroup.procs": "1" } }, v2), [
    'invalid unified resource "cgroup.procs"',
  ]);
  assert.deepEqual(resourceProblems({ memory: { oomGroup: true } }, v1), [
    "memory.oomGroup needs cgroup v2; this host uses cgroup v1",
  ]);
});

Deno.test("validateResources: several problems in one message", () => {
  assert.throws(
    () => validateResources({ memory: { limit: 1 }, pids: { limit: 0 } }, v1),
    (e: unknown) =>
      e instanceof UsageError &&
      /^minimum memory limit allowed is 6MB; invalid pids limit 0/.test(e.message),
  );
});

Deno.test("cpusToQuota: Docker's --cpus", () => {
  assert.deepEqual(cpusToQuota(1.5, 2), { quota: 150000, period: 100000 });
  assert.deepEqual(cpusToQuota(0.5, 2, 50000), { quota: 25000, period: 50000 });
  assert.throws(() => cpusToQuota(0, 2), /range of CPUs is from 0.01 to 2.00/);
  assert.throws(() => cpusToQuota(-1, 2), /only 2 CPUs available/);
  assert.throws(() => cpusToQuota(3, 2), /only 2 CPUs available/);
});
