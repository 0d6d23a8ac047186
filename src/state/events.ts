// Container events (create, start, die, oom, stop, kill, pause, unpause,
// restart, rename, destroy) as `tsbox events` shows them: appended to the
// events table by whichever tsbox process saw them happen, read in order.

import { now, state } from "./db.ts";

/** One event. */
export interface TsboxEvent {
  seq: number;
  time: string;
  type: string;
  action: string;
  id: string;
  attributes: Record<string, string>;
}

/** Records an event (never fails the operation that caused it). */
export function emitEvent(
  action: string,
  id: string,
  attributes: Record<string, string> = {},
  type = "container",
): void {
  try {
    state().run(
      "INSERT INTO events (time, type, action, id, attributes) VALUES (?, ?, ?, ?, ?)",
      now(),
      type,
      action,
      id,
      JSON.stringify(attributes),
    );
  } catch {
    // Events are informational; losing one must not break a start or a stop.
  }
}

/** Events after sequence number `after`, oldest first. */
export function eventsAfter(after: number, limit = 1000): TsboxEvent[] {
  return state().all<
    { seq: number; time: string; type: string; action: string; id: string; attributes: string }
  >(
    "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
    after,
    limit,
  ).map((r) => ({ ...r, attributes: JSON.parse(r.attributes) }));
}

/** The newest sequence number (0 when there is none). */
export function lastEventSeq(): number {
  return state().get<{ m: number | null }>("SELECT max(seq) AS m FROM events")?.m ?? 0;
}

/** The exit code in the last "die" event of container `id`, if any (for containers already removed). */
export function lastExitCode(id: string): number | undefined {
  const r = state().get<{ attributes: string }>(
    "SELECT attributes FROM events WHERE id = ? AND action = 'die' ORDER BY seq DESC LIMIT 1",
    id,
  );
  const code = r ? Number(JSON.parse(r.attributes).exitCode) : NaN;
  return Number.isInteger(code) ? code : undefined;
}
