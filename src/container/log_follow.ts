// Following a container's json-file log for a program (the live logs of the
// container page of `tsbox ui`): the last lines, then new lines as the
// supervisor appends them, until the container stops or the caller stops
// asking. The file format is src/supervisor/logs.ts's; reading, logs.ts's.

import { getContainer } from "../state/containers.ts";
import { type LogLine, logPath, parseLog } from "../supervisor/logs.ts";
import { readFrom } from "./logs.ts";
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
  const path = logPath(id);
  let { text, end } = readFrom(path, 0);
  yield parseLog(text).slice(-tail);
  while (!signal.aborted) {
    await new Promise((r) => setTimeout(r, intervalMs));
    ({ text, end } = readFrom(path, end));
    const lines = parseLog(text);
    if (lines.length) yield lines;
    const now = getContainer(id);
    if (!now || !["running", "paused", "restarting"].includes(reconcile(now).status)) return;
  }
}
