// `run -d`: create the container here (validation, record, directories),
// then have the supervisor start it as its child, so it outlives this CLI.

import { exitCodeOf, runExitCode, TsboxError } from "../errors.ts";
import { SupervisorClient } from "../supervisor/client.ts";
import type { Answer } from "../supervisor/protocol.ts";
import { createContainer } from "./create.ts";
import type { RunOptions } from "./options.ts";
import { destroyContainer } from "./remove.ts";
import { getContainer } from "../state/containers.ts";

/** Asks the supervisor to start container `id` (again once, if it was just exiting). */
export async function superviseStart(id: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    const client = await SupervisorClient.connect();
    let res: Answer;
    try {
      res = await client.request({ op: "start", id });
    } catch (e) {
      if (attempt === 0) continue;
      throw e;
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
