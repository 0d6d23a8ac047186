import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { makeFixture, read, removeFixture } from "./fixture_testutil.ts";
import { HybridDriver } from "./hybrid.ts";

const MiB = 1024 * 1024;

function fixture() {
  const root = makeFixture({
    "memory/g/memory.limit_in_bytes": "9223372036854771712",
    "memory/g/cgroup.procs": "",
    "pids/g/pids.max": "max",
    "pids/g/cgroup.procs": "",
    "freezer/g/freezer.state": "THAWED",
    "freezer/g/cgroup.procs": "",
    "unified/cgroup.controllers": "hugetlb",
    "unified/cgroup.subtree_control": "",
    "unified/g/cgroup.procs": "",
    "unified/g/hugetlb.2MB.max": "max",
  });
  const driver = new HybridDriver({
    mounts: {
      memory: `${root}/memory`,
      pids: `${root}/pids`,
      freezer: `${root}/freezer`,
    },
    v2Root: `${root}/unified`,
    host: { cpus: [0, 1], mems: [0] },
  });
  return { root, driver };
}

Deno.test("HybridDriver: v1 for v1-bound controllers, the unified group for v2-bound ones", () => {
  const { root, driver } = fixture();
  try {
    driver.create("g", {
      memory: { limit: 64 * MiB },
      pids: { limit: 7 },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
    });
    assert.equal(read(root, "memory/g/memory.limit_in_bytes"), String(64 * MiB));
    assert.equal(read(root, "pids/g/pids.max"), "7");
    assert.equal(read(root, "unified/cgroup.subtree_control"), "+hugetlb\n");
    assert.equal(read(root, "unified/g/hugetlb.2MB.max"), "0");
    driver.addProcess("g", 99);
    for (const h of ["memory", "pids", "freezer", "unified"]) {
      assert.equal(read(root, `${h}/g/cgroup.procs`), "99\n", h);
    }
    assert.deepEqual(driver.pids("g"), [99]);
    assert.equal(driver.dirs("g").length, 4);
  } finally {
    removeFixture(root);
  }
});

Deno.test("HybridDriver.validate: v1 rules for v1 controllers; unavailable ones are named", () => {
  const { root, driver } = fixture();
  try {
    assert.throws(
      () =>
        driver.validate("g", {
          memory: { swappiness: 10, limit: MiB },
          network: { classID: 1 },
        }),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message ===
          "minimum memory limit allowed is 6MB; the net_cls controller is not mounted on this host",
    );
    driver.validate("g", { memory: { swappiness: 10 } });
  } finally {
    removeFixture(root);
  }
});
