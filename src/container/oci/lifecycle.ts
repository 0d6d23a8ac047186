// The OCI runtime's container lifecycle (tsbox-runc, for containerd's runc
// shim, Podman's conmon and CRI-O): observe, start, kill, delete, state.
// create.ts makes containers, ops.ts acts on running ones; this module does
// not load the executor, so the verbs callers run most often (state, kill,
// delete) stay cheap. Every request goes through the engine's state machine
// (src/container/state_machine.ts: checkOciTransition, ociStatus) before it
// changes anything.
//
// Process model (as runc's, which containerd's shim and Podman's conmon rely
// on): `create` clones the container's init as a child of the caller's
// process, which does every setup step, then blocks opening the exec fifo;
// `create` writes the pid file and exits, and the init is reparented to the
// caller's subreaper. `start` opens the fifo's read side, which lets the init
// write a byte and execve. There is no tsbox supervisor in this path.

import { O } from "../../../ffi/constants.ts";
import { sys, sysRaw } from "../../../ffi/syscall.ts";
import { cgroupHost } from "../../cgroups/open.ts";
import type { CgroupDriver } from "../../cgroups/driver.ts";
import { rmdirOne } from "../../cgroups/fs.ts";
import { NotFoundError, TsboxError } from "../../errors.ts";
import type { NamespaceKind } from "../../runtime/namespaces.ts";
import { pidfdOpen } from "../../runtime/process.ts";
import type { Spec } from "../../spec/types.ts";
import type { ContainerRecord } from "../../state/containers.ts";
import { checkOciTransition, type OciOperation, ociStatus } from "../state_machine.ts";
import { DEFAULT_OCI_PARENT } from "./cgroup_path.ts";
import {
  checkId,
  containerDir,
  fifoExists,
  initAlive,
  listIds,
  type OciContext,
  type OciRecord,
  type OciStatus,
  readRecord,
  removeContainerDir,
  withLock,
} from "./store.ts";

export type { OciContext, OciRecord, OciStatus };

/** runtime-spec version of the state JSON tsbox-runc prints. */
export const OCI_STATE_VERSION = "1.0.2";

const q = JSON.stringify;

/** The cgroup driver of this host. */
export function cgroups(): CgroupDriver {
  return cgroupHost().driver;
}

/** The record of `id` (NotFoundError "container does not exist" when absent). */
export function load(ctx: OciContext, id: string): OciRecord {
  return readRecord(ctx.root, checkId(id));
}

/**
 * The container's state in the engine's terms, observed from the kernel: no
 * pid yet (creating), the init gone (exited), the exec fifo still there
 * (created, its process waiting), the freezer (paused), else running.
 */
export function observe(
  ctx: OciContext,
  rec: OciRecord,
): Pick<ContainerRecord, "status" | "pid" | "name"> {
  const name = rec.id;
  if (rec.pid === 0) return { status: "created", pid: null, name };
  if (!initAlive(rec)) return { status: "exited", pid: null, name };
  if (fifoExists(ctx.root, rec.id)) return { status: "created", pid: rec.pid, name };
  try {
    if (cgroups().state(rec.cgroupPath) === "frozen") {
      return { status: "paused", pid: rec.pid, name };
    }
  } catch { /* no freezer: not paused */ }
  return { status: "running", pid: rec.pid, name };
}

/** The observed status in runtime-spec terms. */
export function statusOf(ctx: OciContext, rec: OciRecord): OciStatus {
  return ociStatus(observe(ctx, rec));
}

/** Throws runc's refusal unless `op` is allowed in the container's observed state. */
export function checkOci(ctx: OciContext, op: OciOperation, rec: OciRecord): OciStatus {
  const seen = observe(ctx, rec);
  checkOciTransition(op, seen);
  return ociStatus(seen);
}

/** The runtime-spec state of a container (runtime.md "State"), as runc prints it. */
export function stateOf(rec: OciRecord, status: OciStatus): Record<string, unknown> {
  return {
    ociVersion: OCI_STATE_VERSION,
    id: rec.id,
    pid: status === "stopped" ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rootfsOf(rec.bundle, rec.config),
    created: rec.created,
    ...(rec.config.annotations ? { annotations: rec.config.annotations } : {}),
    owner: "",
  };
}

/** The state JSON of container `id`. */
export function containerState(ctx: OciContext, id: string): Record<string, unknown> {
  const rec = load(ctx, id);
  return stateOf(rec, statusOf(ctx, rec));
}

/** The state JSON of every container under the root (unreadable ones skipped). */
export function listStates(ctx: OciContext): Record<string, unknown>[] {
  return listIds(ctx.root).flatMap((id) => {
    try {
      return [containerState(ctx, id)];
    } catch {
      return [];
    }
  });
}

/** The root filesystem directory of a bundle's config (root.path, relative to the bundle). */
export function rootfsOf(bundle: string, spec: Spec): string {
  const p = spec.root?.path ?? "rootfs";
  return p.startsWith("/") ? p : `${bundle}/${p}`;
}

/** Namespaces the container creates (no path), as the hooks join them. */
export function createdNamespaces(spec: Spec): NamespaceKind["oci"][] {
  return (spec.linux?.namespaces ?? []).filter((n) => !n.path).map((n) => n.type);
}

/** Removes the default parent group when no container is left in it. */
export function pruneDefaultParent(driver: CgroupDriver): void {
  for (const d of driver.dirs(DEFAULT_OCI_PARENT)) {
    try {
      rmdirOne(d);
    } catch { /* in use, or absent */ }
  }
}

/** Polls `fds` for POLLIN; returns the indexes that are ready (timeout in ms, -1 forever). */
function pollIn(fds: number[], timeoutMs: number): number[] {
  const buf = new Int32Array(fds.length * 2);
  fds.forEach((fd, i) => {
    buf[i * 2] = fd;
    buf[i * 2 + 1] = 1; // events = POLLIN, revents = 0
  });
  const r = sysRaw("poll", [buf, fds.length, timeoutMs]);
  if (r <= 0) return [];
  return fds.map((_, i) => i).filter((i) => (buf[i * 2 + 1]! >>> 16) !== 0);
}

/** Runs hooks; src/runtime/hooks.ts is loaded only when a container has some. */
export async function runHooks(
  ...args: Parameters<typeof import("../../runtime/hooks.ts").runHooks>
): Promise<void> {
  if (!args[1]?.length) return;
  await (await import("../../runtime/hooks.ts")).runHooks(...args);
}

/**
 * Starts created container `id`: opens the exec fifo's read side, which lets
 * the init write its byte and execve; then runs the poststart hooks (a
 * failure there is logged: the container goes on, runtime.md). Requires root.
 */
export async function startContainer(ctx: OciContext, id: string): Promise<void> {
  await withLock(ctx.root, checkId(id), () => startLocked(ctx, load(ctx, id)));
}

async function startLocked(ctx: OciContext, rec: OciRecord): Promise<void> {
  checkOci(ctx, "start", rec);
  const fifo = `${containerDir(ctx.root, rec.id)}/exec.fifo`;
  const pidfd = pidfdOpen(rec.pid);
  let fd = sys("open", [fifo, O.RDONLY | O.NONBLOCK | O.CLOEXEC], q(fifo));
  try {
    for (;;) {
      const ready = pollIn([fd, pidfd], 1000);
      if (ready.includes(0)) {
        const n = sysRaw("read", [fd, new Uint8Array(1), 1]);
        if (n === 1) break;
        if (n === 0) throw new TsboxError("container init exited before start");
        if (n !== -11 /* EAGAIN */) throw new TsboxError(`read the exec fifo: errno ${-n}`);
      } else if (ready.includes(1)) {
        throw new TsboxError("container init exited before start");
      }
    }
    sysRaw("close", [fd]);
    fd = -1;
    if (rec.config.hooks?.startContainer?.length) {
      // The init waits on the fifo again until the hooks ran in its namespaces.
      await runHooks("startContainer", rec.config.hooks.startContainer, {
        state: stateOf(rec, "running"),
        join: { pid: rec.pid, pidfd, namespaces: createdNamespaces(rec.config) },
      });
      const w = sys("open", [fifo, O.WRONLY | O.CLOEXEC], q(fifo));
      try {
        sys("write", [w, new Uint8Array([0]), 1], "the exec fifo");
      } finally {
        sysRaw("close", [w]);
      }
    }
  } finally {
    if (fd >= 0) sysRaw("close", [fd]);
    sysRaw("close", [pidfd]);
  }
  Deno.removeSync(fifo);
  ctx.log("debug", `started ${rec.id}`);
  try {
    await runHooks("poststart", rec.config.hooks?.poststart, { state: stateOf(rec, "running") });
  } catch (e) {
    ctx.log("warning", e instanceof Error ? e.message : String(e));
  }
}

/** Sends `signal` to the init of `id` (or, with `all`, to every process of its cgroup). */
export function killContainer(ctx: OciContext, id: string, signal: number, all: boolean): void {
  const rec = load(ctx, id);
  if (all) {
    const driver = cgroups();
    if (!driver.exists(rec.cgroupPath)) return;
    for (const pid of driver.pids(rec.cgroupPath)) sysRaw("kill", [pid, signal]);
    return;
  }
  checkOci(ctx, "kill", rec);
  const pidfd = pidfdOpen(rec.pid);
  try {
    sys("pidfd_send_signal", [pidfd, signal, null, 0], `signal ${signal} to pid ${rec.pid}`);
  } finally {
    sysRaw("close", [pidfd]);
  }
}

/** Waits until the init (not necessarily our child) has exited, up to `ms`. */
function waitGone(rec: OciRecord, ms: number): boolean {
  if (!initAlive(rec)) return true;
  let pidfd: number;
  try {
    pidfd = pidfdOpen(rec.pid);
  } catch {
    return true;
  }
  try {
    pollIn([pidfd], ms);
  } finally {
    sysRaw("close", [pidfd]);
  }
  return !initAlive(rec);
}

/**
 * Deletes container `id`: a created one has its init killed; a running or
 * paused one only with `force` (SIGKILL to every process). Removes the
 * cgroup and the state, then runs the poststop hooks. With `force`, what is
 * left of a container whose state is gone is removed too (as runc).
 */
export async function deleteContainer(ctx: OciContext, id: string, force: boolean): Promise<void> {
  try {
    await withLock(ctx.root, checkId(id), () => deleteLocked(ctx, load(ctx, id), force));
  } catch (e) {
    if (!(e instanceof NotFoundError) || !force) throw e;
    removeContainerDir(ctx.root, id);
  }
}

/** Deletes a container whose lock the caller holds. */
export async function deleteLocked(ctx: OciContext, rec: OciRecord, force: boolean): Promise<void> {
  const status = force ? statusOf(ctx, rec) : checkOci(ctx, "delete", rec);
  const driver = cgroups();
  if (status !== "stopped" && status !== "creating") {
    if (status === "paused") await driver.thaw(rec.cgroupPath).catch(() => {});
    for (const pid of driver.exists(rec.cgroupPath) ? driver.pids(rec.cgroupPath) : []) {
      sysRaw("kill", [pid, 9]);
    }
    sysRaw("kill", [rec.pid, 9]);
    if (!waitGone(rec, 10_000)) throw new TsboxError(`init ${rec.pid} did not exit after SIGKILL`);
  }
  if (driver.exists(rec.cgroupPath)) await driver.destroy(rec.cgroupPath);
  pruneDefaultParent(driver);
  removeContainerDir(ctx.root, rec.id);
  try {
    await runHooks("poststop", rec.config.hooks?.poststop, { state: stateOf(rec, "stopped") });
  } catch (e) {
    ctx.log("warning", e instanceof Error ? e.message : String(e));
  }
}
