import assert from "node:assert/strict";
import type { ContainerRecord } from "../state/containers.ts";
import { parseRestartPolicy, ranStably, restartDecision, shouldRestart } from "./restart.ts";

const rec = (over: Partial<ContainerRecord>) =>
  ({ status: "restarting", stopRequested: false, restartCount: 1, ...over }) as ContainerRecord;

Deno.test("restartDecision doubles from 200 ms to a minute; nothing after a stop", () => {
  assert.equal(restartDecision(rec({}), 1), 200);
  assert.equal(restartDecision(rec({}), 5), 3200);
  assert.equal(restartDecision(rec({}), 20), 60_000);
  assert.equal(restartDecision(rec({ restartCount: 3 })), 800);
  assert.equal(restartDecision(rec({ stopRequested: true }), 1), undefined);
  assert.equal(restartDecision(rec({ status: "exited" }), 1), undefined);
  assert.equal(restartDecision(undefined, 1), undefined);
});

Deno.test("ranStably: a run of 10 s or more resets the delay", () => {
  const t0 = "2026-01-01T00:00:00.000Z";
  assert.equal(ranStably({ startedAt: t0, finishedAt: "2026-01-01T00:00:10.000Z" }), true);
  assert.equal(ranStably({ startedAt: t0, finishedAt: "2026-01-01T00:00:09.999Z" }), false);
  assert.equal(ranStably({ startedAt: null, finishedAt: t0 }), false);
});

Deno.test("shouldRestart and parseRestartPolicy follow Docker", () => {
  assert.equal(shouldRestart(parseRestartPolicy("on-failure:2"), 1, 1), true);
  assert.equal(shouldRestart(parseRestartPolicy("on-failure:2"), 1, 2), false);
  assert.equal(shouldRestart(parseRestartPolicy("on-failure"), 0, 0), false);
  assert.equal(shouldRestart(parseRestartPolicy("unless-stopped"), 0, 9), true);
  assert.throws(() => parseRestartPolicy("always:3"), /invalid restart policy/);
});
