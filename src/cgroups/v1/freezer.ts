// cgroup v1 "freezer" controller: freezer.state takes FROZEN or THAWED and
// reads FREEZING until every task is frozen.
// Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst.

import { TsboxError } from "../../errors.ts";
import { readText, sleep, writeValue } from "../fs.ts";
import type { FreezerState } from "../driver.ts";
import type { V1Controller } from "./controller.ts";

/** The v1 freezer controller (freeze, thaw and state are driver operations). */
export const freezer: V1Controller = { name: "freezer" };

function current(dir: string): string {
  return readText(`${dir}/freezer.state`).trim();
}

/**
 * Writes FROZEN and waits until freezer.state reads FROZEN, writing FROZEN
 * again now and then (a task in uninterruptible sleep can make the first try
 * stall, as runc found). On timeout, thaws and throws.
 */
export async function freezeV1(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0;; i++) {
    if (i % 50 === 0) writeValue(`${dir}/freezer.state`, "FROZEN");
    const state = current(dir);
    if (state === "FROZEN") return;
    if (Date.now() > deadline) {
      writeValue(`${dir}/freezer.state`, "THAWED");
      throw new TsboxError(
        `freeze ${JSON.stringify(dir)}: timed out after ${timeoutMs} ms in state ${state} ` +
          "(a task may be stuck in uninterruptible sleep)",
      );
    }
    await sleep(Math.min(1 + i, 10));
  }
}

/** Writes THAWED and waits until freezer.state reads THAWED. */
export async function thawV1(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  writeValue(`${dir}/freezer.state`, "THAWED");
  for (let i = 0; current(dir) !== "THAWED"; i++) {
    if (Date.now() > deadline) {
      throw new TsboxError(`thaw ${JSON.stringify(dir)}: timed out after ${timeoutMs} ms`);
    }
    await sleep(Math.min(1 + i, 10));
  }
}

/** "frozen" when freezer.state reads FROZEN (FREEZING counts as thawed). */
export function stateV1(dir: string): FreezerState {
  return current(dir) === "FROZEN" ? "frozen" : "thawed";
}
