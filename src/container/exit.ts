// What happens when a container's first process has ended, whoever saw it
// (the foreground CLI or the supervisor): its status is recorded with OOM
// kills detected, an event is emitted, the network and cgroup are released,
// and the restart policy decides between "restarting" and "exited"; --rm
// containers are removed.

import { formatError } from "../errors.ts";
import { getContainer, updateContainer } from "../state/containers.ts";
import { now, state } from "../state/db.ts";
import { emitEvent } from "../state/events.ts";
import { shouldRestart } from "./restart.ts";
import { NO_TRACE, type Tracer } from "../runtime/trace.ts";
import { afterExit } from "./cgroup.ts";
import { destroyContainer, releaseResources } from "./remove.ts";

/**
 * Records the end of `id`'s process. `status` is undefined when the exit
 * status is unknown (then the container is "dead" with `error` as reason).
 * Returns the exit code the user sees.
 */
export async function recordExit(
  id: string,
  status: { code: number } | undefined,
  error?: string,
  trace: Tracer = NO_TRACE,
): Promise<number> {
  trace.sync();
  const rec = getContainer(id);
  if (!rec) return status?.code ?? 125;
  let code = status?.code;
  let oomKilled = false;
  try {
    oomKilled = (await trace.runAsync("check for OOM kills, kill what is left in the cgroup", () =>
      afterExit(rec))).oomKilled;
  } catch { /* no cgroup */ }
  if (oomKilled && code !== undefined && code < 128) code = 137;
  const { restart: policy, autoRemove } = rec.config;
  const wasStarted = rec.startedAt !== null;
  // An unknown exit status (its supervisor died) still restarts under always/unless-stopped.
  const restart = wasStarted && !rec.stopRequested && rec.status !== "removing" &&
    (code === undefined
      ? policy.name === "always" || policy.name === "unless-stopped"
      : shouldRestart(policy, code, rec.restartCount));
  // Recorded even on a full disk (the state root's reserve is for this).
  state().essential(() =>
    updateContainer(id, {
      status: restart
        ? "restarting"
        : code === undefined
        ? (wasStarted || rec.pid ? "dead" : "created")
        : "exited",
      // Unknown (its supervisor died): 255, as Docker shows a lost status; never 0.
      exitCode: code ?? (wasStarted || rec.pid ? 255 : null),
      oomKilled,
      finishedAt: now(),
      pid: null,
      error: error ?? null,
      ...(restart ? { restartCount: rec.restartCount + 1 } : {}),
    })
  );
  if (oomKilled) emitEvent("oom", id, { name: rec.name, image: rec.image });
  if (wasStarted || code !== undefined) {
    emitEvent("die", id, { name: rec.name, image: rec.image, exitCode: String(code ?? "unknown") });
  }
  trace.line("parent", `record the exit (${code ?? "unknown"})`);
  try {
    if (autoRemove && !restart) {
      await trace.runAsync(
        "remove the container (--rm)",
        () => destroyContainer(id, { volumes: true }),
      );
      emitEvent("destroy", id, { name: rec.name, image: rec.image });
    } else {
      // The container's directory stays until `rm`; its kernel objects go now.
      await trace.runAsync(
        "release its network and cgroup",
        () => releaseResources(id, ["dir", "volume"]),
      );
    }
  } catch (e) {
    updateContainer(id, { error: formatError(e) });
  }
  return code ?? 125;
}

/** Records a start that failed before execve: the container stays "created" (or goes, with --rm). */
export async function recordStartFailure(
  id: string,
  error: string,
  exitCode: number,
): Promise<void> {
  const rec = getContainer(id);
  if (!rec) return;
  updateContainer(id, { status: "created", pid: null, pidStart: null, error, exitCode });
  try {
    if (rec.config.autoRemove) await destroyContainer(id, { volumes: true });
    else await releaseResources(id, ["dir", "volume"]);
  } catch (e) {
    updateContainer(id, { error: `${error}; ${formatError(e)}` });
  }
}
