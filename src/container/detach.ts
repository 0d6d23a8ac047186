// `run -d`: create the container here (validation, record, directories),
// then have the supervisor start it as its child, so it outlives this CLI.

import { exitCodeOf, runExitCode, TsboxError } from "../errors.ts";
import { SupervisorClient } from "../supervisor/client.ts";
import type { Answer } from "../supervisor/protocol.ts";
import { createContainer } from "./create.ts";
import type { RunOptions } from "./options.ts";
import { destroyContainer } from "./remove.ts";
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
    if (!res.ok) throw new TsboxError(res.error, { exitCode: res.exitCode });
    return;
  }
}

/** Starts a container in the background; returns its id. */
export async function runDetached(opts: RunOptions): Promise<string> {
  const c = await createContainer(opts).catch((e) => {
    throw new TsboxError("", { cause: e, exitCode: runExitCode(exitCodeOf(e)) });
  });
  try {
    await superviseStart(c.record.id);
  } catch (e) {
    // The supervisor has recorded the failure (and removed a --rm container).
    if (opts.autoRemove && getContainer(c.record.id)) await destroyContainer(c.record.id);
    throw new TsboxError("", { cause: e, exitCode: runExitCode(exitCodeOf(e)) });
  }
  return c.record.id;
}
