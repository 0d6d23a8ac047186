// Lifecycle operations on existing containers: stop, kill, start, restart,
// wait, rm, rename. Each asks the state machine (state_machine.ts) first, so
// an operation not allowed in the current state fails before any side
// effect, e.g. "cannot kill web: container is not running".

import { SIGKILL, SIGNALS } from "../../ffi/constants.ts";
import { TsboxError, UsageError } from "../errors.ts";
import {
  type ContainerRecord,
  findContainer,
  getContainer,
  renameContainerRecord,
  updateContainer,
} from "../state/containers.ts";
import { state } from "../state/db.ts";
import { emitEvent, lastExitCode } from "../state/events.ts";
import { getImage } from "../image/store.ts";
import { superviseStart } from "./detach.ts";
import { recordExit } from "./exit.ts";
import { destroyContainer } from "./remove.ts";
import { signalContainer, waitGone } from "./signal.ts";
import { reconcile } from "./status.ts";
import { ACTIVE, checkTransition, isActive } from "./state_machine.ts";

/** Parses a signal given as "TERM", "SIGTERM" or "15". */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = s.toUpperCase().startsWith("SIG") ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
    const n = SIGNALS[name];
    if (n !== undefined) return n;
  }
  throw new UsageError(`invalid signal: ${s}`);
}

/** Waits until the recorded state of `id` is no longer active (the parent recorded the exit). */
async function settled(id: string, timeoutMs: number): Promise<ContainerRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = getContainer(id);
    if (!rec || !ACTIVE.includes(rec.status)) return rec;
    if (Date.now() > deadline) return reconcile(rec);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Thaws a paused container so it can receive signals (v1 frozen tasks cannot die). */
async function thawIfPaused(rec: ContainerRecord): Promise<void> {
  if (rec.status !== "paused") return;
  const { unpauseContainer } = await import("./pause.ts");
  await unpauseContainer(rec.id).catch(() => {});
}

/** `stop`: SIGTERM (or --signal), then SIGKILL after `timeoutSec`. A stopped container is left as is. */
export async function stopContainer(
  ref: string,
  timeoutSec = 10,
  stopSignal?: number,
): Promise<void> {
  const rec = reconcile(findContainer(ref));
  // img: without --signal, the image's StopSignal, else SIGTERM (as Docker).
  const fromImage = rec.imageId ? getImage(rec.imageId)?.config.StopSignal : undefined;
  const signal = stopSignal ??
    (fromImage ? parseSignal(fromImage) : undefined) ?? SIGNALS["SIGTERM"]!;
  // Recorded first (the restart policy must see it), even on a full disk; if
  // even that fails, the signal still goes: stopping comes before recording.
  const recorded = attempt(() => updateContainer(rec.id, { stopRequested: true }));
  if (!ACTIVE.includes(rec.status)) return recorded.throwIfFailed();
  if (rec.status === "restarting") {
    state().essential(() => updateContainer(rec.id, { status: "exited" }));
    return recorded.throwIfFailed();
  }
  emitEvent("stop", rec.id, { name: rec.name });
  signalContainer(rec, signal);
  await thawIfPaused(rec);
  if (!(await waitGone(rec, timeoutSec * 1000))) {
    signalContainer(rec, SIGKILL);
    if (!(await waitGone(rec, 10_000))) {
      throw new TsboxError(`container ${rec.name} did not stop after SIGKILL`);
    }
  }
  const after = await settled(rec.id, 2000);
  // Nobody watched it (its tsbox died): record what we did to it.
  if (after && ACTIVE.includes(after.status)) {
    await recordExit(rec.id, undefined, "stopped while no tsbox process watched it");
  }
  recorded.throwIfFailed();
}

/** A state write that must not keep a signal from being sent: its failure is reported after. */
function attempt(fn: () => void): { throwIfFailed: () => void } {
  try {
    state().essential(fn);
    return { throwIfFailed: () => {} };
  } catch (e) {
    return {
      throwIfFailed: () => {
        throw e;
      },
    };
  }
}

/** `kill`: send a signal (default SIGKILL). */
export async function killContainer(ref: string, signal = SIGKILL): Promise<void> {
  const rec = reconcile(findContainer(ref));
  checkTransition("kill", rec);
  const recorded = signal === SIGKILL || signal === SIGNALS["SIGTERM"]
    ? attempt(() => updateContainer(rec.id, { stopRequested: true }))
    : attempt(() => {});
  emitEvent("kill", rec.id, { name: rec.name, signal: String(signal) });
  if (!signalContainer(rec, signal)) {
    throw new TsboxError(`cannot kill ${rec.name}: container is not running`, { exitCode: 1 });
  }
  if (signal === SIGKILL) {
    await thawIfPaused(rec);
    await waitGone(rec, 10_000);
    await settled(rec.id, 2000);
  }
  recorded.throwIfFailed();
}

/** `start`: start a created or stopped container in the background (supervised). */
export async function startExisting(ref: string): Promise<void> {
  const rec = readyToStart(ref);
  if (rec) await superviseStart(rec.id);
}

/** The record of a container `start` may start; undefined when it is running already. */
export function readyToStart(ref: string): ContainerRecord | undefined {
  const rec = reconcile(findContainer(ref));
  if (rec.status === "running") return undefined;
  checkTransition("start", rec);
  updateContainer(rec.id, { stopRequested: false });
  return rec;
}

/** `restart`: stop (if running), then start. */
export async function restartContainer(ref: string, timeoutSec = 10): Promise<void> {
  const rec = findContainer(ref);
  await stopContainer(rec.id, timeoutSec);
  await startExisting(rec.id);
  emitEvent("restart", rec.id, { name: rec.name });
}

/** `wait`: block until the container stops; returns its exit code. */
export async function waitContainer(ref: string): Promise<number> {
  const rec = findContainer(ref);
  for (;;) {
    const now = getContainer(rec.id);
    if (!now) return lastExitCode(rec.id) ?? rec.exitCode ?? 0; // removed (--rm)
    const r = reconcile(now);
    if (!isActive(r)) return r.exitCode ?? 0;
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * `rm`: remove a container; a running one only with `force` (killed with
 * SIGKILL first); its anonymous volumes too with `volumes` (rm -v).
 */
export async function removeContainer(ref: string, force: boolean, volumes = false): Promise<void> {
  const rec = reconcile(findContainer(ref));
  if (isActive(rec)) {
    if (!force) checkTransition("remove", rec);
    const recorded = attempt(() =>
      updateContainer(rec.id, { status: "removing", stopRequested: true })
    );
    signalContainer(rec, SIGKILL);
    await thawIfPaused(rec);
    if (!(await waitGone(rec, 10_000))) {
      throw new TsboxError(`container ${rec.name} did not die after SIGKILL`);
    }
    recorded.throwIfFailed();
  }
  await destroyContainer(rec.id, { volumes });
  emitEvent("destroy", rec.id, { name: rec.name, image: rec.image });
}

/** `rename`: give a container a new, unique name. */
export function renameContainer(ref: string, name: string): void {
  const rec = findContainer(ref);
  renameContainerRecord(
    rec.id,
    name,
    () => emitEvent("rename", rec.id, { name, oldName: rec.name }),
  );
}
