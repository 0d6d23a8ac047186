// Following a container's json-file log for a program (the live logs of the
// container page of `tsbox ui`): the last lines, then new lines as the
// supervisor appends them, until the container stops or the caller stops
// asking. The file format is src/supervisor/logs.ts's; reading (streamed,
// across rotations), logs.ts's LogCursor.

import { getContainer } from "../state/containers.ts";
import type { LogLine } from "../supervisor/logs.ts";
import { LogCursor, parseRecord } from "./logs.ts";
import { reconcile } from "./status.ts";

/**
 * Yields batches of log lines of container `id`: the last `tail` first, then
 * new ones every `intervalMs` while it runs; ends when it has stopped (after
 * a last read) or `signal` aborts.
 */
export async function* followLog(
  id: string,
  tail: number,
  signal: AbortSignal,
  intervalMs = 500,
): AsyncGenerator<LogLine[]> {
  const cursor = new LogCursor(id);
  let batch: LogLine[] = [];
  const collect = (bytes: Uint8Array) => {
    const l = parseRecord(bytes);
    if (l) batch.push(l);
  };
  try {
    cursor.start(collect, tail);
    yield batch;
    while (!signal.aborted) {
      await new Promise((r) => setTimeout(r, intervalMs));
      batch = [];
      cursor.next(collect);
      if (batch.length) yield batch;
      const now = getContainer(id);
      if (!now || !["running", "paused", "restarting"].includes(reconcile(now).status)) return;
    }
  } finally {
    cursor.close();
  }
}
