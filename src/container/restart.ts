// Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`), as
// Docker applies them: never after a user's stop or kill, and with a delay
// that doubles from 100 ms up to a minute. The policy itself is part of a
// container's configuration (src/spec/config.ts).

import type { RestartPolicy } from "../spec/config.ts";
import type { ContainerRecord } from "../state/containers.ts";

export { parseRestartPolicy, type RestartPolicy } from "../spec/config.ts";

/** Milliseconds to wait before restarting `rec`, or undefined to leave it stopped. */
export function restartDecision(rec: ContainerRecord | undefined): number | undefined {
  if (!rec || rec.stopRequested || rec.status !== "restarting") return undefined;
  return Math.min(100 * 2 ** rec.restartCount, 60_000);
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
