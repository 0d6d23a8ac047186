// Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`), as
// Docker applies them: never after a user's stop or kill, and with a delay
// that doubles from 200 ms up to a minute, and starts over after a run of 10 s.
// The policy itself is part of a container's configuration (src/spec/config.ts).

import type { RestartPolicy } from "../spec/config.ts";
import type { ContainerRecord } from "../state/containers.ts";

export { parseRestartPolicy, type RestartPolicy } from "../spec/config.ts";

/** A run at least this long resets the delay to its start (Docker's rule). */
export const STABLE_RUN_MS = 10_000;

/**
 * Milliseconds to wait before restarting `rec`, or undefined to leave it
 * stopped: 100 ms doubled for each exit in a row that came less than 10 s
 * after its start (`streak`, this one counted; the restart count when not
 * known), at most a minute.
 */
export function restartDecision(
  rec: ContainerRecord | undefined,
  streak = rec?.restartCount ?? 0,
): number | undefined {
  if (!rec || rec.stopRequested || rec.status !== "restarting") return undefined;
  return Math.min(100 * 2 ** streak, 60_000);
}

/** Whether the run that just ended lasted long enough to reset the delay. */
export function ranStably(rec: Pick<ContainerRecord, "startedAt" | "finishedAt">): boolean {
  if (!rec.startedAt || !rec.finishedAt) return false;
  return Date.parse(rec.finishedAt) - Date.parse(rec.startedAt) >= STABLE_RUN_MS;
}

/** Whether a container that ended with `code` should restart under `policy`. */
export function shouldRestart(policy: RestartPolicy, code: number, restarts: number): boolean {
  switch (policy.name) {
    case "no":
      return false;
    case "on-failure":
      return code !== 0 && (policy.maxRetries === 0 || restarts < policy.maxRetries);
    default:
      return true;
  }
}
