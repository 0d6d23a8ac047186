// `tsbox-runc create`'s part of the OCI lifecycle (see engine.ts): the state
// directory, the exec fifo, the cgroup, and the container's init, left
// waiting on the fifo. Kept apart from engine.ts so that the verbs callers
// run most often (state, kill, delete) do not load the executor.

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
import { startContainer } from "../../runtime/executor.ts";
import { runHooks } from "../../runtime/hooks.ts";
import type { Spec } from "../../spec/types.ts";
import { cgroups, createdNamespaces, pruneDefaultParent, rootfsOf, stateOf } from "./engine.ts";
import { type GlobalOptions, logLine } from "./log.ts";
import {
  makeContainerDir,
  type OciRecord,
  procStat,
  removeContainerDir,
  writeRecord,
} from "./store.ts";

const q = JSON.stringify;

/** What `create` is asked for. */
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
  /** `run`: receive the pty master ourselves when there is no console socket. */
  keepConsole?: boolean;
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
 * master when `keepConsole` asked for it). On failure everything made is
 * undone. Requires root.
 */
export async function createContainer(
  g: GlobalOptions,
  req: CreateRequest,
): Promise<{ pid: number; pidfd: number; console?: number }> {
  const { id, spec } = req;
  const driver = cgroups();
  const resources = spec.linux?.resources ?? {};
  driver.validate(req.cgroupPath, resources);
  const dir = makeContainerDir(g.root, id);
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
  let pidfd: number | undefined;
  try {
    writeRecord(g.root, rec);
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
    driver.create(req.cgroupPath, resources);
    cgroupMade = true;
    const { layout } = cgroupHost();
    const cgroupFd = driver.cgroupDirFd(req.cgroupPath);
    if (cgroupFd !== undefined) fds.push(cgroupFd);
    const tasks = driver.selfJoinFiles(req.cgroupPath);
    const cgroupns = createdNamespaces(spec).includes("cgroup");
    const hookState = () => ({ ...stateOf(rec, "creating"), pid: rec.pid });

    const started = await startContainer({
      spec,
      mountPoint: `${dir}/rootfs`,
      rootfs: { kind: "dir", path: rootfsOf(req.bundle, spec) },
      scratchDir: `${dir}/idmap`,
      stdio: { stdin: "inherit", stdout: "inherit", stderr: "inherit" },
      ...(cgroupFd !== undefined ? { cgroupFd } : {}),
      cgroupTasks: tasks,
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
        writeRecord(g.root, rec);
        if (cgroupFd !== undefined && !child.inCgroup) driver.addProcess(req.cgroupPath, child.pid);
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
    logLine(g, "debug", `created ${id}: init pid ${started.pid}`);
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
    removeContainerDir(g.root, id);
    throw e;
  } finally {
    for (const fd of fds) sysRaw("close", [fd]);
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
  return out.sort((a, b) => a.name.localeCompare(b.name));
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
