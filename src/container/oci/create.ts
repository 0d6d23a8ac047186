// The OCI runtime's `create` and `run` (see lifecycle.ts): the state
// directory, the exec fifo, the cgroup, and the container's init, left
// waiting on the fifo. The init is started by the same executor as every
// other container (src/runtime/executor.ts: staging mounts, the syscall
// program, seccomp) and joins its cgroup the same way (joinPlan: clone3
// CLONE_INTO_CGROUP for v2, the child's own write to the v1 hierarchies).
// Kept apart from lifecycle.ts so that state, kill and delete do not load
// the executor.

import {
  AF_UNIX,
  AT_FDCWD,
  O,
  S_IFIFO,
  SOCK_CLOEXEC,
  SOCK_STREAM,
} from "../../../ffi/constants.ts";
import { writeFileText } from "../../../ffi/file.ts";
import { sys, sysRaw } from "../../../ffi/syscall.ts";
import type { CgroupLayout } from "../../cgroups/detect.ts";
import { cgroupHost } from "../../cgroups/open.ts";
import { TsboxError, UsageError } from "../../errors.ts";
import { startContainer as startInit } from "../../runtime/executor.ts";
import { NO_TRACE, type Tracer } from "../../runtime/trace.ts";
import type { Spec } from "../../spec/types.ts";
import { joinPlan } from "../cgroup_join.ts";
import {
  cgroups,
  createdNamespaces,
  deleteLocked,
  load,
  pruneDefaultParent,
  rootfsOf,
  runHooks,
  startContainer,
  stateOf,
} from "./lifecycle.ts";
import {
  makeContainerDir,
  type OciContext,
  type OciRecord,
  procStat,
  removeContainerDir,
  withLock,
  writeRecord,
} from "./store.ts";

const q = JSON.stringify;

/** What `create` is asked for (checked by the front end: id, bundle, config.json). */
export interface CreateRequest {
  id: string;
  /** Absolute bundle directory. */
  bundle: string;
  spec: Spec;
  /** cgroup path (cgroup_path.ts). */
  cgroupPath: string;
  pidFile?: string;
  /** Path of a unix socket to send the pty master to (with process.terminal). */
  consoleSocket?: string;
  preserveFds: number;
  /** Steps and their durations (tsbox-runc --trace). */
  trace?: Tracer;
}

/** A created container's init, waiting on the exec fifo. */
export interface CreatedInit {
  pid: number;
  pidfd: number;
  /** The pty master, when the caller keeps the console (run without --console-socket). */
  console?: number;
}

/** Connects to the caller's console socket; returns the fd. */
export function connectUnix(path: string): number {
  const fd = sys("socket", [AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0], "console socket");
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > 107) throw new UsageError(`console socket path too long: ${q(path)}`);
  addr.set(bytes, 2);
  try {
    sys("connect", [fd, addr, 2 + bytes.length + 1], `console socket ${q(path)}`);
  } catch (e) {
    sysRaw("close", [fd]);
    throw e;
  }
  return fd;
}

/**
 * Creates the container: state directory, exec fifo, cgroup, and the init,
 * which is left waiting on the fifo. Returns the init's pid (and the pty
 * master when the process has a terminal and no console socket was given).
 * On failure everything made is undone. Requires root.
 */
export async function createContainer(ctx: OciContext, req: CreateRequest): Promise<CreatedInit> {
  try {
    return await createSteps(ctx, req);
  } catch (e) {
    // "container with id exists" and config problems read as they are, as runc's.
    if (e instanceof UsageError) throw e;
    throw new TsboxError(`create ${req.id}`, { cause: e, exitCode: 1 });
  }
}

async function createSteps(ctx: OciContext, req: CreateRequest): Promise<CreatedInit> {
  const { id, spec } = req;
  const trace = req.trace ?? NO_TRACE;
  const driver = cgroups();
  const resources = spec.linux?.resources ?? {};
  driver.validate(req.cgroupPath, resources);
  const dir = makeContainerDir(ctx.root, id);
  const rec: OciRecord = {
    id,
    bundle: req.bundle,
    pid: 0,
    pidStart: "",
    created: new Date().toISOString(),
    cgroupPath: req.cgroupPath,
    config: spec,
  };
  const fds: number[] = [];
  let cgroupMade = false;
  let join: ReturnType<typeof joinPlan> | undefined;
  let pidfd: number | undefined;
  try {
    writeRecord(ctx.root, rec);
    const fifo = `${dir}/exec.fifo`;
    sys("mknodat", [AT_FDCWD, fifo, S_IFIFO | 0o622, 0], q(fifo));
    sys("fchmodat", [AT_FDCWD, fifo, 0o622, 0], q(fifo));
    // The one fd of ours the init keeps until execve (close-on-exec): an
    // O_PATH fd of the fifo, which it reopens for writing through
    // /proc/self/fd. It names the fifo only; nothing of the container is
    // resolved through it (the exception to issue 8's fd rule, as runc's).
    const fifoFd = sys("open", [fifo, O.PATH | O.CLOEXEC], q(fifo));
    fds.push(fifoFd);
    const consoleSocket = req.consoleSocket ? connectUnix(req.consoleSocket) : undefined;
    if (consoleSocket !== undefined) fds.push(consoleSocket);
    Deno.mkdirSync(`${dir}/rootfs`);

    if (driver.exists(req.cgroupPath) && driver.pids(req.cgroupPath).length) {
      throw new TsboxError(`cgroup ${q(req.cgroupPath)} already has processes`);
    }
    trace.run(`create cgroup ${req.cgroupPath}`, () => driver.create(req.cgroupPath, resources));
    cgroupMade = true;
    const { layout } = cgroupHost();
    join = joinPlan(req.cgroupPath);
    const cgroupns = createdNamespaces(spec).includes("cgroup");
    const hookState = () => ({ ...stateOf(rec, "creating"), pid: rec.pid });

    const started = await startInit({
      spec,
      trace,
      mountPoint: `${dir}/rootfs`,
      rootfs: { kind: "dir", path: rootfsOf(req.bundle, spec) },
      scratchDir: `${dir}/idmap`,
      stdio: { stdin: "inherit", stdout: "inherit", stderr: "inherit" },
      ...(join.dirFd !== undefined ? { cgroupFd: join.dirFd } : {}),
      cgroupTasks: join.selfJoin,
      mountCgroup2: layout.mode === "unified" && cgroupns,
      cgroupBinds: cgroupBinds(layout, req.cgroupPath),
      ...(consoleSocket !== undefined ? { consoleSocket } : {}),
      execFifoFd: fifoFd,
      preserveFds: req.preserveFds,
      startHooks: (spec.hooks?.startContainer?.length ?? 0) > 0,
      resolveExecutable: true,
      setup: async (child) => {
        rec.pid = child.pid;
        rec.pidStart = procStat(child.pid)?.start ?? "";
        writeRecord(ctx.root, rec);
        // Only when clone3 could not start it in its cgroup2 group (old kernels).
        if (join!.dirFd !== undefined && !child.inCgroup) join!.place(child.pid);
        const adj = spec.process?.oomScoreAdj;
        if (adj !== undefined) writeFileText(`/proc/${child.pid}/oom_score_adj`, String(adj));
        await runHooks("prestart", spec.hooks?.prestart, { state: hookState() });
        await runHooks("createRuntime", spec.hooks?.createRuntime, { state: hookState() });
      },
      ...(spec.hooks?.createContainer?.length
        ? {
          beforePivot: (child: { pid: number; pidfd: number }) =>
            runHooks("createContainer", spec.hooks?.createContainer, {
              state: hookState(),
              join: { pid: child.pid, pidfd: child.pidfd, namespaces: createdNamespaces(spec) },
            }),
        }
        : {}),
    });
    pidfd = started.pidfd;
    if (req.pidFile) writePidFile(req.pidFile, started.pid);
    ctx.log("debug", `created ${id}: init pid ${started.pid}`);
    return {
      pid: started.pid,
      pidfd: started.pidfd,
      ...(started.console !== undefined ? { console: started.console } : {}),
    };
  } catch (e) {
    if (pidfd !== undefined) {
      sysRaw("pidfd_send_signal", [pidfd, 9, null, 0]);
      sysRaw("close", [pidfd]);
    }
    if (cgroupMade) await driver.destroy(req.cgroupPath).catch(() => {});
    pruneDefaultParent(driver);
    removeContainerDir(ctx.root, id);
    throw e;
  } finally {
    join?.close();
    for (const fd of fds) sysRaw("close", [fd]);
  }
}

/**
 * `run`: creates and starts the container; unless `detach`, waits for its
 * init (a child of this process), relays its terminal when it has one and no
 * console socket was given, forwards SIGTERM, SIGINT and SIGHUP to it, then
 * deletes it (unless `keep`) and returns its exit status. Requires root.
 */
export async function runContainer(
  ctx: OciContext,
  req: CreateRequest,
  opts: { detach: boolean; keep: boolean },
): Promise<number> {
  const trace = req.trace ?? NO_TRACE;
  const created = await createContainer(ctx, req);
  await trace.runAsync("start (exec fifo)", () => startContainer(ctx, req.id));
  if (opts.detach) {
    if (created.console !== undefined) sysRaw("close", [created.console]);
    sysRaw("close", [created.pidfd]);
    return 0;
  }
  const { relayConsole } = await import("../../runtime/console.ts");
  const { waitPidfd } = await import("../../runtime/process.ts");
  const relay = created.console !== undefined ? relayConsole(created.console) : undefined;
  const forward = (sig: Deno.Signal, n: number) => {
    const h = () => sysRaw("pidfd_send_signal", [created.pidfd, n, null, 0]);
    Deno.addSignalListener(sig, h);
    return () => Deno.removeSignalListener(sig, h);
  };
  const undo = [forward("SIGTERM", 15), forward("SIGINT", 2), forward("SIGHUP", 1)];
  try {
    const status = await waitPidfd(created.pidfd);
    trace.line("parent", `init exited (status ${status.code})`);
    if (relay) {
      await relay.done;
      relay.restore();
    }
    if (!opts.keep) {
      await withLock(ctx.root, req.id, () => deleteLocked(ctx, load(ctx, req.id), true));
      trace.line("parent", "delete (kill, cgroup, state)");
    }
    return status.code;
  } finally {
    for (const u of undo) u();
    sysRaw("close", [created.pidfd]);
  }
}

/**
 * What a `cgroup` mount in the container shows when it cannot mount cgroup2
 * itself: the container's group in each hierarchy (runc's mountCgroupV1; a
 * v2 host without a cgroup namespace binds its one group). Named v1
 * hierarchies (name=systemd) are left out: tsbox places nothing there.
 */
export function cgroupBinds(
  layout: CgroupLayout,
  path: string,
): { name: string; source: string }[] {
  if (layout.mode === "unified") return [{ name: "", source: `${layout.v2Root}/${path}` }];
  const out: { name: string; source: string }[] = [];
  for (const mnt of new Set(Object.values(layout.v1))) {
    const source = `${mnt}/${path}`;
    if (exists(source)) out.push({ name: mnt.slice(mnt.lastIndexOf("/") + 1), source });
  }
  if (layout.v2Root && exists(`${layout.v2Root}/${path}`)) {
    out.push({ name: "unified", source: `${layout.v2Root}/${path}` });
  }
  // Not localeCompare: its first call loads ICU's collator, about 7 ms.
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the pid file as runc does: to a temporary name, then renamed. */
function writePidFile(path: string, pid: number): void {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const tmp = `${abs.replace(/[^/]*$/, "")}.${abs.replace(/.*\//, "")}`;
  Deno.writeTextFileSync(tmp, String(pid));
  Deno.renameSync(tmp, abs);
}
