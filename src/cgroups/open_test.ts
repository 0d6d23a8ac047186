import assert from "node:assert/strict";
import { detectCgroups } from "./detect.ts";
import { HybridDriver } from "./hybrid.ts";
import { driverFor, openCgroups } from "./open.ts";
import { V1Driver } from "./v1/driver.ts";
import { V2Driver } from "./v2/driver.ts";

const host = { cpus: [0], mems: [0] };
const line = (id: number, mp: string, type: string, opts: string) =>
  `${id} 1 0:${id} / ${mp} rw - ${type} ${type} ${opts}`;

Deno.test("driverFor: one driver per layout", () => {
  const v2 = line(1, "/sys/fs/cgroup", "cgroup2", "rw");
  const v1 = line(2, "/sys/fs/cgroup/memory", "cgroup", "rw,memory");
  const hybrid = [v1, line(3, "/sys/fs/cgroup/unified", "cgroup2", "rw")].join("\n");
  assert.ok(driverFor(detectCgroups(v2), { host }) instanceof V2Driver);
  assert.ok(driverFor(detectCgroups(v1), { host }) instanceof V1Driver);
  const h = openCgroups(hybrid, { host });
  assert.ok(h instanceof HybridDriver);
  assert.equal(h.mode, "hybrid");
  assert.equal((h as HybridDriver).v2.root, "/sys/fs/cgroup/unified");
});
