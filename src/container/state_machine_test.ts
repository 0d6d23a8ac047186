import assert from "node:assert/strict";
import type { ContainerRecord, Status } from "../state/containers.ts";
import {
  allowed,
  checkOciTransition,
  checkTransition,
  isActive,
  ociAllowed,
  ociStatus,
  phaseOf,
} from "./state_machine.ts";

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

Deno.test("checkOciTransition: runc's rules and words", () => {
  assert.equal(phaseOf(rec("created", 3)), "starting");
  assert.equal(phaseOf(rec("created")), "created");
  assert.ok(ociAllowed("start", rec("created", 3)));
  assert.ok(!ociAllowed("start", rec("created")));
  assert.ok(ociAllowed("exec", rec("created", 3)), "runc execs in a created container");
  assert.ok(ociAllowed("delete", rec("created", 3)), "delete kills a created init");
  assert.ok(ociAllowed("pause", rec("created", 3)));
  assert.throws(
    () => checkOciTransition("start", rec("exited")),
    /cannot start a container that has stopped/,
  );
  assert.throws(
    () => checkOciTransition("start", rec("running", 3)),
    /cannot start an already running container/,
  );
  assert.throws(
    () => checkOciTransition("delete", rec("paused", 3)),
    /cannot delete container web that is not stopped: paused/,
  );
  assert.throws(() => checkOciTransition("exec", rec("paused", 3)), /exec in a paused container/);
  assert.throws(() => checkOciTransition("exec", rec("exited")), /exec in a stopped container/);
  assert.throws(() => checkOciTransition("kill", rec("exited")), /container not running/);
  assert.throws(() => checkOciTransition("resume", rec("running", 3)), /container not paused/);
});
