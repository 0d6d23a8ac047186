// Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`), as
// Docker applies them: never after a user's stop or kill, and with a delay
// that doubles from 100 ms up to a minute.

import { UsageError } from "../errors.ts";
import type { ContainerRecord } from "../state/containers.ts";

/** A parsed policy. */
export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** on-failure only: give up after this many restarts (0: never give up). */
  maxRetries: number;
}

/** Parses a --restart value; throws UsageError. */
export function parseRestartPolicy(v: string): RestartPolicy {
  const m = v.match(/^(no|always|unless-stopped|on-failure)(?::(\d+))?$/);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure")) {
    throw new UsageError(
      `invalid restart policy ${
        JSON.stringify(v)
      }: expected no, on-failure[:max-retries], always or unless-stopped`,
    );
  }
  return { name: m[1] as RestartPolicy["name"], maxRetries: m[2] ? Number(m[2]) : 0 };
}

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
