import assert from "node:assert/strict";
import type { ContainerRecord, Status } from "../state/containers.ts";
import { allowed, checkTransition, isActive, ociStatus } from "./state_machine.ts";

const rec = (status: Status, pid: number | null = null) =>
  ({ status, pid, name: "web" }) as ContainerRecord;

Deno.test("checkTransition: the allowed table, and Docker's words for refusals", () => {
  assert.ok(allowed("pause", rec("running", 1)));
  assert.ok(!allowed("pause", rec("paused", 1)));
  assert.ok(allowed("start", rec("exited")));
  assert.throws(
    () => checkTransition("pause", rec("exited")),
    /cannot pause web: container is not running/,
  );
  assert.throws(
    () => checkTransition("exec", rec("paused", 1)),
    /is paused, unpause the container before exec/,
  );
  assert.throws(
    () => checkTransition("remove", rec("running", 1)),
    /stop the container before removing or force remove/,
  );
  // A created container with a pid is starting: not removable without force.
  assert.throws(() => checkTransition("remove", rec("created", 7)), /container is created/);
  assert.doesNotThrow(() => checkTransition("remove", rec("created")));
});

Deno.test("isActive and ociStatus map every state", () => {
  assert.ok(isActive(rec("restarting")));
  assert.ok(isActive(rec("created", 3)));
  assert.ok(!isActive(rec("exited")));
  assert.equal(ociStatus(rec("created", 3)), "created");
  assert.equal(ociStatus(rec("paused", 3)), "paused");
  assert.equal(ociStatus(rec("dead")), "stopped");
});
