// The cgroup v2 freezer: cgroup.freeze (write 1 or 0) and the "frozen" key
// of cgroup.events, which turns 1 once every task is frozen (Linux 5.2+).
// Documentation/admin-guide/cgroup-v2.rst ("Core Interface Files": cgroup.freeze).

import type { FreezerState } from "../driver.ts";
import { pollUntil, writeValue } from "../fs.ts";
import { cgroupEvents } from "./core.ts";

/** Freezes `dir` and waits for "frozen 1" in cgroup.events. */
export async function freezeV2(dir: string, timeoutMs: number): Promise<void> {
  writeValue(`${dir}/cgroup.freeze`, "1");
  await pollUntil(
    () => cgroupEvents(dir).get("frozen") === 1,
    `freeze ${JSON.stringify(dir)}`,
    timeoutMs,
  );
}

/** Thaws `dir` and waits for "frozen 0" in cgroup.events. */
export async function thawV2(dir: string, timeoutMs: number): Promise<void> {
  writeValue(`${dir}/cgroup.freeze`, "0");
  await pollUntil(
    () => cgroupEvents(dir).get("frozen") !== 1,
    `thaw ${JSON.stringify(dir)}`,
    timeoutMs,
  );
}

/** "frozen" when cgroup.events says frozen 1. */
export function stateV2(dir: string): FreezerState {
  return cgroupEvents(dir).get("frozen") === 1 ? "frozen" : "thawed";
}
