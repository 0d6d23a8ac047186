// Compiles a spec into the Steps the container's first process runs between
// clone and execve. The order follows the kernel's rules:
//  - wait for the parent first: it writes uid_map/gid_map, places the child
//    in its cgroup and configures its network meanwhile;
//  - let go of the runtime's executable (self_exe.ts), then make the
//    container's stdio fds 0-2 and close every other fd of the parent before
//    anything of the container's is resolved (CVE-2024-21626);
//  - the cgroup namespace is unshared after the cgroup placement, so the
//    container's cgroup is its root (cgroup_namespaces(7));
//  - proc, sysfs, devpts, mqueue and cgroup2 are mounted by the child because
//    they reflect the namespaces of the mounter;
//  - masked and read-only paths after /proc and /sys exist, then pivot_root;
//  - the bounding set is dropped while CAP_SETPCAP is still held, uid/gid
//    change with PR_SET_KEEPCAPS so capset can then set the final sets
//    (capabilities(7) "Effect of user ID changes on capabilities");
//  - signals are reset and unblocked last, just before execve.

import { MOUNT_ATTR, MS } from "../../ffi/constants.ts";
import type { Process, Spec } from "../spec/types.ts";
import { parseMountOptions } from "../mount/options.ts";
import { capMask, capNumber } from "./capabilities.ts";
import type { NamespaceKind } from "./namespaces.ts";
import { rlimitNumber, type Step } from "./steps.ts";
import { seccompFilter, seccompFlags } from "../seccomp/bpf.ts";
import { UsageError } from "../errors.ts";
import type { ExeImage } from "./self_exe.ts";

/** Facts the plan needs beyond the spec. */
export interface InitContext {
  /** Read end of the sync pipe. */
  syncFd: number;
  /** Its write end, which the child closes. */
  syncWriteFd: number;
  /** The rootfs mountpoint, as the child sees it before pivot_root. */
  rootfs: string;
  /** Namespaces the child has been created in (by clone). */
  created: ReadonlySet<NamespaceKind["oci"]>;
  /** Namespaces the child unshares after the parent's setup. */
  unshareAfterSync: NamespaceKind["oci"][];
  /** Namespaces the child joins (fds open in the parent before clone). */
  join: { namespace: NamespaceKind["oci"]; fd: number; path: string }[];
  /** With a terminal: where to send the pty master. */
  console?: { socketFd: number; slotFd: number; rows: number; cols: number };
  /** Parent fds the child makes its stdio (dup2), when there is no console. */
  stdio: { from: number; to: number }[];
  /** cgroup v1 `tasks` files to write "0" to: the child moves itself (cheaper than the parent moving it). */
  cgroupTasks?: string[];
  /** Mount cgroup2 on /sys/fs/cgroup (a v2 host with a cgroup namespace). */
  mountCgroup2: boolean;
  /**
   * Otherwise, what a `cgroup` mount shows (as runc does): the host
   * directories of the container's groups, each bound at <destination>/<name>
   * over a tmpfs (v1 and hybrid hosts), or one bound at the destination itself
   * (name ""; a v2 host without a cgroup namespace). Comounted hierarchies
   * ("cpu,cpuacct") also get a symlink per controller.
   */
  cgroupBinds?: { name: string; source: string }[];
  /** Highest capability number of this kernel. */
  lastCap: number;
  /** Is this masked path a directory on this host (undefined: absent, skipped)? */
  maskedKind: (path: string) => "dir" | "file" | undefined;
  /** PATH directories for a bare command name. */
  searchPath: string[];
  /** The parent's fds a container keeps (OCI --preserve-fds), from fd 3. */
  preserveFds?: number;
  /** Write end of the error pipe, for notify records (needed by the options below). */
  notifyFd?: number;
  /** Stop before pivot_root until the parent ran the createContainer hooks (POINT.BEFORE_PIVOT). */
  pauseBeforePivot?: boolean;
  /** OCI create: after every step, notify POINT.READY, then wait on the exec fifo (O_PATH fd). */
  execFifoFd?: number;
  /** After the exec fifo, wait again on it while `start` runs the startContainer hooks. */
  startHooks?: boolean;
  /** The executable, resolved by the parent in the root (the exec step tries only it). */
  execPath?: string;
  /** Enter a new time namespace with these offsets (linux.timeOffsets). */
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
  /** Fds the child needs until execve (the close-on-exec error and trace pipes). */
  keepFds?: number[];
  /** The runtime's executable to let go of, and the sealed memfd to name instead. */
  exe?: ExeImage & { fd: number };
}

/**
 * Fds 3.. that stay open through close-fds: the preserved ones, `keepFds`,
 * the error pipe for notify records, the exec fifo, and `more`.
 */
function kept(
  ctx: Pick<InitContext, "keepFds" | "preserveFds" | "execFifoFd" | "notifyFd">,
  ...more: number[]
): number[] {
  const preserved = Array.from({ length: ctx.preserveFds ?? 0 }, (_, i) => 3 + i);
  const fds = [ctx.notifyFd, ctx.execFifoFd].filter((fd): fd is number => fd !== undefined);
  return [...preserved, ...(ctx.keepFds ?? []), ...fds, ...more];
}

/** Points the child reports on the error pipe (notify records), and the parent acts on. */
export const POINT = {
  /** Mounts are done, pivot_root is next: the parent runs createContainer hooks, then writes a byte. */
  BEFORE_PIVOT: 1,
  /** Every step is done; the child waits on the exec fifo for `start`. */
  READY: 2,
} as const;

/** The text of /proc/PID/timens_offsets for linux.timeOffsets ("monotonic 5 0\n"). */
export function timensOffsets(o: Record<string, { secs?: number; nanosecs?: number }>): string {
  return Object.entries(o).map(([clock, v]) => `${clock} ${v.secs ?? 0} ${v.nanosecs ?? 0}\n`)
    .join("");
}

/** The command's candidate paths: itself if it has a slash, else each PATH entry. */
export function execCandidates(cmd: string, path: readonly string[]): string[] {
  if (cmd.includes("/")) return [cmd];
  const dirs = path.length
    ? path
    : ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  return dirs.map((d) => `${d.replace(/\/+$/, "") || ""}/${cmd}`);
}

/** The Step list for `spec`. */
export function initSteps(spec: Spec, ctx: InitContext): Step[] {
  const proc = spec.process;
  if (!proc) throw new Error("spec has no process");
  const steps: Step[] = [{ op: "wait-parent", fd: ctx.syncFd, writeEnd: ctx.syncWriteFd }];
  if (ctx.exe) {
    steps.push({ op: "hide-exe", exeFd: ctx.exe.fd, unmap: ctx.exe.unmap, mm: ctx.exe.mm });
  }
  // Before anything else runs: the container's first instruction already counts against its limits.
  for (const t of ctx.cgroupTasks ?? []) steps.push({ op: "write-file", path: t, data: "0" });
  for (const j of ctx.join) {
    steps.push({ op: "setns", fd: j.fd, namespace: j.namespace, path: j.path });
  }
  if (ctx.unshareAfterSync.length) steps.push({ op: "unshare", namespaces: ctx.unshareAfterSync });
  if (ctx.timeOffsets) {
    // unshare(CLONE_NEWTIME) makes the namespace for our children only; its
    // offsets can be set until a process enters it, then we enter it
    // ourselves (a single-threaded process may). See time_namespaces(7).
    steps.push({ op: "unshare", namespaces: ["time"] });
    const text = timensOffsets(ctx.timeOffsets);
    if (text) steps.push({ op: "write-file", path: "/proc/self/timens_offsets", data: text });
    steps.push({ op: "setns-path", path: "/proc/self/ns/time_for_children", namespace: "time" });
  }
  // From here on the child holds its stdio, the pipes to the parent and the console socket only.
  for (const d of ctx.stdio) steps.push({ op: "dup2", from: d.from, to: d.to });
  const consoleFds = ctx.console ? [ctx.console.socketFd, ctx.console.slotFd] : [];
  const syncFd = ctx.pauseBeforePivot ? [ctx.syncFd] : [];
  steps.push({ op: "close-fds", keep: kept(ctx, ...consoleFds, ...syncFd) });
  const hasUts = ctx.created.has("uts") || ctx.join.some((j) => j.namespace === "uts");
  if (spec.hostname && hasUts) steps.push({ op: "sethostname", name: spec.hostname });
  if (spec.domainname && hasUts) steps.push({ op: "setdomainname", name: spec.domainname });
  if (ctx.created.has("network")) steps.push({ op: "link-up", name: "lo" });

  const root = ctx.rootfs;
  const at = (dest: string) => `${root}${dest}`;
  if (ctx.created.has("user")) {
    // The root was mounted in the staging namespace, so in a new user
    // namespace it is locked (MNT_LOCKED) and pivot_root refuses it (EINVAL).
    // A bind of it made here is ours. See pivot_root(2), mount_namespaces(7).
    steps.push({
      op: "mount",
      source: root,
      target: root,
      fstype: null,
      flags: MS.BIND | MS.REC,
      data: null,
    });
  }
  for (const m of spec.mounts ?? []) {
    const type = m.type ?? "";
    const o = parseMountOptions(m.options);
    if (type === "proc" || type === "sysfs" || type === "mqueue" || type === "devpts") {
      steps.push({
        op: "mount",
        source: m.source ?? type,
        target: at(m.destination),
        fstype: type,
        flags: o.flags,
        data: o.data || null,
      });
    } else if ((type === "cgroup" || type === "cgroup2") && ctx.mountCgroup2) {
      steps.push({
        op: "mount",
        source: "cgroup2",
        target: at(m.destination),
        fstype: "cgroup2",
        flags: o.flags,
        data: null,
      });
    } else if ((type === "cgroup" || type === "cgroup2") && ctx.cgroupBinds?.length) {
      steps.push(...cgroupBindSteps(at(m.destination), o.flags, ctx.cgroupBinds));
    }
  }
  // Namespaced sysctls, while /proc/sys is still writable.
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    steps.push({
      op: "write-file",
      path: at(`/proc/sys/${key.replaceAll(".", "/")}`),
      data: value,
    });
  }
  for (const p of spec.linux?.maskedPaths ?? []) {
    const kind = ctx.maskedKind(p);
    if (kind === "dir") {
      steps.push({
        op: "mount",
        source: "tmpfs",
        target: at(p),
        fstype: "tmpfs",
        flags: MS.RDONLY,
        data: null,
        optional: true,
      });
    } else if (kind === "file") {
      steps.push({
        op: "mount",
        source: at("/dev/null"),
        target: at(p),
        fstype: null,
        flags: MS.BIND,
        data: null,
        optional: true,
      });
    }
  }
  for (const p of spec.linux?.readonlyPaths ?? []) {
    steps.push({
      op: "mount",
      source: at(p),
      target: at(p),
      fstype: null,
      flags: MS.BIND | MS.REC,
      data: null,
      optional: true,
    });
    steps.push({
      op: "setattr",
      path: at(p),
      set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
      clear: 0,
      recursive: true,
      optional: true,
    });
  }
  if (ctx.pauseBeforePivot) {
    steps.push(notify(ctx, POINT.BEFORE_PIVOT, "createContainer hooks"));
    steps.push({ op: "wait", fd: ctx.syncFd, name: "createContainer hooks done" });
  }
  steps.push({ op: "pivot-root", root });
  // rootfsPropagation after pivot_root (which refuses a shared new root),
  // then each mount's own propagation again, which a recursive one overrode.
  const rootProp = spec.linux?.rootfsPropagation;
  if (rootProp) {
    const flags = parseMountOptions([rootProp]).propagation;
    if (!flags) throw new UsageError(`rootfsPropagation ${JSON.stringify(rootProp)}`);
    steps.push({ op: "mount", source: null, target: "/", fstype: null, flags, data: null });
    for (const m of spec.mounts ?? []) {
      const p = parseMountOptions(m.options).propagation;
      if (p) {
        steps.push({
          op: "mount",
          source: null,
          target: m.destination,
          fstype: null,
          flags: p,
          data: null,
        });
      }
    }
  }
  if (spec.linux?.personality) {
    steps.push({ op: "personality", persona: personality(spec.linux.personality) });
  }

  const filter = seccompFilter(spec.linux?.seccomp);
  const flags = seccompFlags(spec.linux?.seccomp);
  steps.push(
    ...processSteps(proc, {
      ...ctx,
      stdio: [],
      ...(filter ? { seccomp: filter } : {}),
      ...(flags ? { seccompFlags: flags } : {}),
    }),
  );
  return steps;
}

/** The steps of a `cgroup` mount made of binds of the host's group directories. */
function cgroupBindSteps(
  target: string,
  flags: number,
  binds: readonly { name: string; source: string }[],
): Step[] {
  const steps: Step[] = [];
  const bind = (source: string, to: string): Step => ({
    op: "mount",
    source,
    target: to,
    fstype: null,
    flags: MS.BIND | MS.REC,
    data: null,
  });
  const single = binds.length === 1 && binds[0]!.name === "";
  if (single) steps.push(bind(binds[0]!.source, target));
  else {
    steps.push({
      op: "mount",
      source: "tmpfs",
      target,
      fstype: "tmpfs",
      flags: MS.NOSUID | MS.NODEV | MS.NOEXEC,
      data: "mode=755",
    });
    for (const b of binds) {
      steps.push({ op: "mkdir", path: `${target}/${b.name}`, mode: 0o755 });
      steps.push(bind(b.source, `${target}/${b.name}`));
      if (b.name.includes(",")) {
        for (const c of b.name.split(",")) {
          steps.push({ op: "symlink", target: b.name, path: `${target}/${c}` });
        }
      }
    }
  }
  if (flags & MS.RDONLY) {
    steps.push({
      op: "setattr",
      path: target,
      set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
      clear: 0,
      recursive: true,
    });
  }
  return steps;
}

function notify(ctx: InitContext, point: number, name: string): Step {
  if (ctx.notifyFd === undefined) throw new Error(`${name}: no notify fd`);
  return { op: "notify", fd: ctx.notifyFd, point, name };
}

/** personality(2)'s argument for linux.personality: the domain and its flags. */
export function personality(p: { domain: string; flags?: string[] }): number {
  const domains: Record<string, number> = { LINUX: 0, LINUX32: 0x0008 };
  const d = domains[p.domain];
  if (d === undefined) throw new UsageError(`personality domain ${JSON.stringify(p.domain)}`);
  // No flag is defined by the runtime spec yet; runc refuses any.
  if (p.flags?.length) throw new UsageError(`personality flags ${p.flags.join(",")}`);
  return d;
}

/** What processSteps needs: the part of InitContext about the process itself. */
export type ProcessContext =
  & Pick<
    InitContext,
    | "console"
    | "stdio"
    | "lastCap"
    | "searchPath"
    | "preserveFds"
    | "notifyFd"
    | "execFifoFd"
    | "startHooks"
    | "execPath"
    | "keepFds"
  >
  & {
    /** Installed while the process still holds CAP_SYS_ADMIN, before its user and capabilities change. */ seccomp?:
      Uint8Array;
    /** seccomp(2) flags (SECCOMP_FILTER_FLAG_LOG, ...). */
    seccompFlags?: number;
  };

/**
 * The steps that turn a process inside the container's root and namespaces
 * into the spec's process: rlimits, capabilities, user, stdio, working
 * directory, and execve. Every fd but the stdio, `keepFds`, the exec fifo
 * and the preserved ones is closed before the chdir. Shared by a
 * container's init and by `exec`.
 */
export function processSteps(proc: Process, ctx: ProcessContext): Step[] {
  const steps: Step[] = [];
  for (const r of proc.rlimits ?? []) {
    const res = rlimitNumber(r.type);
    if (res === undefined) throw new Error(`unknown rlimit ${r.type}`);
    steps.push({
      op: "rlimit",
      resource: res,
      name: r.type,
      soft: BigInt(r.soft),
      hard: BigInt(r.hard),
    });
  }

  const caps = proc.capabilities ?? {};
  const bounding = capMask(caps.bounding ?? []);
  const drop: number[] = [];
  for (let c = 0; c <= ctx.lastCap; c++) if (!((bounding >> BigInt(c)) & 1n)) drop.push(c);
  if (drop.length) steps.push({ op: "drop-bounding", caps: drop });
  if (proc.noNewPrivileges) steps.push({ op: "no-new-privs" });
  // Everything after this runs under the filter: setgroups, setresuid,
  // capset, dup2, close_range, rt_sigaction, execve; none of them is refused.
  if (ctx.seccomp) {
    steps.push({
      op: "seccomp",
      filter: ctx.seccomp,
      ...(ctx.seccompFlags ? { flags: ctx.seccompFlags } : {}),
    });
  }

  const user = proc.user;
  const nonRoot = user.uid !== 0;
  if (nonRoot) steps.push({ op: "keep-caps", on: true });
  steps.push({ op: "setgroups", gids: user.additionalGids ?? [] });
  steps.push({ op: "setresgid", gid: user.gid });
  steps.push({ op: "setresuid", uid: user.uid });
  if (nonRoot) steps.push({ op: "keep-caps", on: false });
  steps.push({
    op: "capset",
    effective: capMask(caps.effective ?? []),
    permitted: capMask(caps.permitted ?? []),
    inheritable: capMask(caps.inheritable ?? []),
  });
  steps.push({ op: "clear-ambient" });
  const ambient = (caps.ambient ?? []).map(capNumber).filter((c): c is number => c !== undefined);
  if (ambient.length) steps.push({ op: "raise-ambient", caps: ambient });

  if (ctx.console) {
    steps.push({ op: "console", ...ctx.console });
  } else {
    for (const d of ctx.stdio) steps.push({ op: "dup2", from: d.from, to: d.to });
  }
  steps.push({ op: "close-fds", keep: kept(ctx) });
  steps.push({ op: "chdir", path: proc.cwd || "/" });
  const keepFrom = 3 + (ctx.preserveFds ?? 0);
  if (ctx.execFifoFd !== undefined) {
    // The process waits for `start` for as long as the caller likes: it holds
    // nothing of ours but the fifo and the error pipe, which it closes once
    // it has said it is ready (a caller such as containerd's shim waits for
    // EOF on the pipes it gave `create`, and this process holds copies).
    steps.push({ op: "close-from", from: keepFrom, keep: [ctx.execFifoFd, ctx.notifyFd ?? -1] });
  } else {
    steps.push({ op: "cloexec-from", from: keepFrom });
  }
  steps.push({ op: "umask", mask: proc.user.umask ?? proc.umask ?? 0o022 });
  steps.push({ op: "reset-signals" });
  if (ctx.execFifoFd !== undefined) {
    if (ctx.notifyFd === undefined) throw new Error("exec fifo: no notify fd");
    steps.push({ op: "notify", fd: ctx.notifyFd, point: POINT.READY, name: "ready" });
    steps.push({ op: "close", fd: ctx.notifyFd, name: "the error pipe" });
    steps.push({ op: "wait-start", fifoFd: ctx.execFifoFd });
    if (ctx.startHooks) steps.push({ op: "wait-start-hooks", fifoFd: ctx.execFifoFd });
  }
  const env = proc.env ?? [];
  steps.push({
    op: "exec",
    candidates: ctx.execPath ? [ctx.execPath] : execCandidates(proc.args[0] ?? "", ctx.searchPath),
    argv: proc.args,
    env,
  });
  return steps;
}
