// The OCI container lifecycle of tsbox-runc: create, start, kill, delete,
// status. This module, with engine_create.ts (create) and engine_ops.ts
// (exec, pause, update...), is the one place where the runc-shaped front end
// calls the layers below the engine (src/runtime/, src/cgroups/); they stand
// in for the engine's create-from-spec API (issue 10 part 1) and is to
// be replaced by calls into it. What it needs from that API is listed in the
// report of issue 10 (no overlay, no network, no supervisor; exec fifo;
// console socket; pid file; preserved fds; hooks).
//
// Process model (as runc's, which containerd's shim and Podman's conmon rely
// on): `create` clones the container's init as a child of this process, which
// does every setup step, then blocks opening the exec fifo; `create` writes
// the pid file and exits, and the init is reparented to the caller's
// subreaper. `start` opens the fifo's read side, which lets the init write a
// byte and execve. There is no tsbox supervisor in this path.

import { O } from "../../../ffi/constants.ts";
import { sys, sysRaw } from "../../../ffi/syscall.ts";
import { cgroupHost } from "../../cgroups/open.ts";
import type { CgroupDriver } from "../../cgroups/driver.ts";
import { rmdirOne } from "../../cgroups/fs.ts";
import { TsboxError, UsageError } from "../../errors.ts";
import type { NamespaceKind } from "../../runtime/namespaces.ts";
import { pidfdOpen } from "../../runtime/process.ts";
import type { Spec } from "../../spec/types.ts";
import { DEFAULT_OCI_PARENT } from "./cgroup_path.ts";
import { type GlobalOptions, logLine } from "./log.ts";
import {
  containerDir,
  fifoExists,
  initAlive,
  type OciRecord,
  type OciStatus,
  readRecord,
  removeContainerDir,
} from "./store.ts";

/** runtime-spec version of the state JSON tsbox-runc prints. */
export const OCI_STATE_VERSION = "1.0.2";

const q = JSON.stringify;

/** The cgroup driver of this host. */
export function cgroups(): CgroupDriver {
  return cgroupHost().driver;
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

/** The root filesystem directory of a bundle's config (root.path, relative to the bundle). */
export function rootfsOf(bundle: string, spec: Spec): string {
  const p = spec.root?.path ?? "rootfs";
  return p.startsWith("/") ? p : `${bundle}/${p}`;
}

/** The observed status of a recorded container. */
export function statusOf(g: GlobalOptions, rec: OciRecord): OciStatus {
  if (rec.pid === 0) return "creating";
  if (!initAlive(rec)) return "stopped";
  if (fifoExists(g.root, rec.id)) return "created";
  try {
    if (cgroups().state(rec.cgroupPath) === "frozen") return "paused";
  } catch { /* no freezer: not paused */ }
  return "running";
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

/**
 * Starts a created container: opens the exec fifo's read side, which lets
 * the init write its byte and execve; then runs the poststart hooks.
 */
export async function startCreated(g: GlobalOptions, rec: OciRecord): Promise<void> {
  const status = statusOf(g, rec);
  if (status === "stopped") throw new UsageError("cannot start a container that has stopped");
  if (status !== "created") throw new UsageError(`cannot start an already ${status} container`);
  const fifo = `${containerDir(g.root, rec.id)}/exec.fifo`;
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
  logLine(g, "debug", `started ${rec.id}`);
  try {
    await runHooks("poststart", rec.config.hooks?.poststart, {
      state: stateOf(rec, "running"),
    });
  } catch (e) {
    // runtime.md: a poststart failure is logged; the container goes on.
    logLine(g, "warning", String(e instanceof Error ? e.message : e));
  }
}

/** Parses a signal as runc takes it: "KILL", "SIGKILL" or "9". */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  }
  const names: Record<string, number> = {
    HUP: 1,
    INT: 2,
    QUIT: 3,
    ILL: 4,
    TRAP: 5,
    ABRT: 6,
    IOT: 6,
    BUS: 7,
    FPE: 8,
    KILL: 9,
    USR1: 10,
    SEGV: 11,
    USR2: 12,
    PIPE: 13,
    ALRM: 14,
    TERM: 15,
    STKFLT: 16,
    CHLD: 17,
    CONT: 18,
    STOP: 19,
    TSTP: 20,
    TTIN: 21,
    TTOU: 22,
    URG: 23,
    XCPU: 24,
    XFSZ: 25,
    VTALRM: 26,
    PROF: 27,
    WINCH: 28,
    IO: 29,
    PWR: 30,
    SYS: 31,
  };
  const up = s.toUpperCase().replace(/^SIG/, "");
  const rt = /^RTMIN(\+(\d+))?$/.exec(up) ?? /^RTMAX(-(\d+))?$/.exec(up);
  if (rt) return up.startsWith("RTMIN") ? 34 + Number(rt[2] ?? 0) : 64 - Number(rt[2] ?? 0);
  const n = names[up];
  if (n === undefined) throw new UsageError(`unknown signal ${q(s)}`);
  return n;
}

/** Sends `signal` to the init (or, with `all`, to every process of the cgroup). */
export function killContainer(
  g: GlobalOptions,
  rec: OciRecord,
  signal: number,
  all: boolean,
): void {
  const status = statusOf(g, rec);
  if (all) {
    for (const pid of cgroups().pids(rec.cgroupPath)) sysRaw("kill", [pid, signal]);
    return;
  }
  if (status === "stopped") throw new UsageError("container not running");
  const pidfd = pidfdOpen(rec.pid);
  try {
    sys("pidfd_send_signal", [pidfd, signal, null, 0], `signal ${signal} to pid ${rec.pid}`);
  } finally {
    sysRaw("close", [pidfd]);
  }
}

/** Waits until process `pid` (not necessarily our child) has exited, up to `ms`. */
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
 * Deletes a container: a created one has its init killed; a running or
 * paused one only with `force` (SIGKILL to every process). Removes the
 * cgroup and the state, then runs the poststop hooks.
 */
export async function deleteContainer(
  g: GlobalOptions,
  rec: OciRecord,
  force: boolean,
): Promise<void> {
  const status = statusOf(g, rec);
  const driver = cgroups();
  if ((status === "running" || status === "paused") && !force) {
    throw new UsageError(`cannot delete container ${rec.id} that is not stopped: ${status}`);
  }
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
  removeContainerDir(g.root, rec.id);
  try {
    await runHooks("poststop", rec.config.hooks?.poststop, { state: stateOf(rec, "stopped") });
  } catch (e) {
    logLine(g, "warning", String(e instanceof Error ? e.message : e));
  }
}

/** Runs hooks; src/runtime/hooks.ts is loaded only when a container has some. */
async function runHooks(...args: Parameters<typeof import("../../runtime/hooks.ts").runHooks>) {
  if (!args[1]?.length) return;
  await (await import("../../runtime/hooks.ts")).runHooks(...args);
}

/** The record of `id` (NotFoundError when absent). */
export function load(g: GlobalOptions, id: string): OciRecord {
  return readRecord(g.root, id);
}
