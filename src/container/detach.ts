// `start`: have the supervisor start a created (or stopped) container as its
// child, so it outlives this CLI.

import { TsboxError } from "../errors.ts";
import { SupervisorClient } from "../supervisor/client.ts";
import { type Answer, answerError } from "../supervisor/protocol.ts";
import { type ContainerRecord, getContainer, listResources } from "../state/containers.ts";
import { STARTER } from "./start.ts";

/** Whether a start of `id` began (a tsbox process recorded itself as its starter, or a pid). */
function startBegan(id: string, before: ContainerRecord | undefined): boolean {
  const rec = getContainer(id);
  if (!rec) return true;
  return listResources(id).some((r) => r.kind === STARTER) || rec.pid !== before?.pid ||
    rec.error !== before?.error;
}

/**
 * Asks the supervisor to start container `id`. If the connection drops
 * before the supervisor began (it was just exiting when we connected), asks
 * a new one; if it dropped while starting, that is the error.
 */
export async function superviseStart(id: string): Promise<void> {
  const fault = Deno.env.get("TSBOX_FAULT");
  for (let attempt = 0;; attempt++) {
    const before = getContainer(id);
    const client = await SupervisorClient.connect();
    let res: Answer;
    try {
      res = await client.request({ op: "start", id, ...(fault ? { fault } : {}) });
    } catch (e) {
      if (attempt === 0 && !startBegan(id, before)) continue;
      throw new TsboxError("the supervisor died while starting the container (see `tsbox ps -a`)", {
        cause: e,
      });
    } finally {
      client.close();
    }
    if (!res.ok) throw answerError(res);
    return;
  }
}
