// The steps a container's first process takes between clone and execve, as
// data. src/runtime/init_plan.ts compiles a spec into a Step list; lower.ts
// turns it into a syscall program for the interpreter in ffi/; `--trace` and
// `--dry-run` print it with formatStep. Nothing here touches the kernel.

import { flagNames, MOUNT_ATTR, mountFlagNames } from "../../ffi/constants.ts";
import { capNames } from "./capabilities.ts";
import type { NamespaceKind } from "./namespaces.ts";

/** One step of the container's init, before execve. */
export type Step =
  /**
   * Close our copy of the sync pipe's write end (so the parent's death reads
   * as EOF), then block until the parent writes one byte (it sets up maps,
   * cgroup, network meanwhile).
   */
  | { op: "wait-parent"; fd: number; writeEnd: number }
  /** Tell the parent a named point was reached (a record on the error pipe). */
  | { op: "notify"; fd: number; point: number; name: string }
  /** Block until the parent writes one more byte on the sync pipe (after a notify). */
  | { op: "wait"; fd: number; name: string }
  /**
   * The OCI exec fifo: open it for writing through /proc/self/fd/N of an
   * O_PATH fd (blocks until `start` opens the read side), write one byte.
   */
  | { op: "wait-start"; fifoFd: number }
  /** Then wait for `start` to run the startContainer hooks: open the fifo for reading, read one byte. */
  | { op: "wait-start-hooks"; fifoFd: number }
  /** Enter the namespace at `path` (e.g. /proc/self/ns/time_for_children). */
  | { op: "setns-path"; path: string; namespace: NamespaceKind["oci"] }
  /** personality(2): the execution domain (PER_LINUX, PER_LINUX32) and flags. */
  | { op: "personality"; persona: number }
  /** Create namespaces that must be created after the parent's setup (cgroup). */
  | { op: "unshare"; namespaces: NamespaceKind["oci"][] }
  /** Join an existing namespace (its path was opened by the parent). */
  | { op: "setns"; fd: number; namespace: NamespaceKind["oci"]; path: string }
  /** Join several namespaces of a running process at once through its pidfd (Linux 5.8). */
  | { op: "join"; pidfd: number; namespaces: NamespaceKind["oci"][]; pid: number }
  | { op: "sethostname"; name: string }
  | { op: "setdomainname"; name: string }
  | {
    op: "mount";
    source: string | null;
    target: string;
    fstype: string | null;
    flags: number;
    data: string | null;
    /** A missing target is skipped (masked paths absent on this kernel). */
    optional?: boolean;
  }
  /** mount_setattr(2): change mount attributes (read-only) without repeating locked flags. */
  | {
    op: "setattr";
    path: string;
    set: number;
    clear: number;
    recursive: boolean;
    optional?: boolean;
  }
  /** mkdir(2); an existing directory is fine. */
  | { op: "mkdir"; path: string; mode: number }
  | { op: "symlink"; target: string; path: string }
  /** Write `data` to an existing file (a sysctl under /proc/sys). */
  | { op: "write-file"; path: string; data: string }
  /** pivot_root into `root`, then detach the old root. */
  | { op: "pivot-root"; root: string }
  /**
   * Change to the working directory: resolved with magic links refused
   * (openat2 RESOLVE_NO_MAGICLINKS, so no /proc/PID/fd/N or /proc/PID/cwd
   * can lead outside the root), then checked with getcwd(2): a directory not
   * below the root reads "(unreachable)/..." and is refused (CVE-2024-21626).
   */
  | { op: "chdir"; path: string }
  /**
   * Close every fd from 3 up except `keep` (close_range over the gaps): the
   * parent's fds, close-on-exec or not, are gone before anything of the
   * container's is resolved (CVE-2024-21626).
   */
  | { op: "close-fds"; keep: number[] }
  /**
   * Make /proc/PID/exe of this process name `exeFd` (an empty, sealed memfd)
   * instead of the runtime's own executable: unmap every mapping of the
   * executable, then prctl(PR_SET_MM, PR_SET_MM_MAP) with exe_fd and the
   * memory layout `mm` (the 11 fields of struct prctl_mm_map before auxv).
   * Neither a process of the container (through /proc/PID/exe) nor this
   * process's own execve (a `#!/proc/self/exe` script) can then reach the
   * runtime's binary (CVE-2019-5736).
   */
  | { op: "hide-exe"; exeFd: number; unmap: { start: bigint; length: bigint }[]; mm: bigint[] }
  /** Bring a network interface up (lo of a new network namespace). */
  | { op: "link-up"; name: string }
  | { op: "rlimit"; resource: number; name: string; soft: bigint; hard: bigint }
  /** Drop these capability numbers from the bounding set. */
  | { op: "drop-bounding"; caps: number[] }
  | { op: "clear-ambient" }
  | { op: "raise-ambient"; caps: number[] }
  | { op: "no-new-privs" }
  /** Install a seccomp filter (struct sock_filter[], from src/seccomp/bpf.ts). */
  | { op: "seccomp"; filter: Uint8Array; flags?: number }
  | { op: "keep-caps"; on: boolean }
  | { op: "setgroups"; gids: number[] }
  | { op: "setresgid"; gid: number }
  | { op: "setresuid"; uid: number }
  | { op: "capset"; effective: bigint; permitted: bigint; inheritable: bigint }
  /**
   * Open a pseudo-terminal in the container's devpts, make its slave the
   * controlling terminal and stdio, and send the master to the parent over
   * `socketFd` (SCM_RIGHTS), parking it at fd `slotFd` first.
   */
  | { op: "console"; socketFd: number; slotFd: number; rows: number; cols: number }
  | { op: "setsid" }
  | { op: "dup2"; from: number; to: number }
  /** Mark every fd from `from` up close-on-exec. */
  | { op: "cloexec-from"; from: number }
  /** Close every fd from `from` up except `keep` (a process that waits before execve holds nothing else). */
  | { op: "close-from"; from: number; keep: number[] }
  | { op: "close"; fd: number; name: string }
  /** Default every signal handler and unblock all signals (blocked since clone). */
  | { op: "reset-signals" }
  | { op: "umask"; mask: number }
  /** Try each candidate path in turn; the errno of the last one is reported. */
  | { op: "exec"; candidates: string[]; argv: string[]; env: string[] };

const RLIMIT_NAMES = [
  "RLIMIT_CPU",
  "RLIMIT_FSIZE",
  "RLIMIT_DATA",
  "RLIMIT_STACK",
  "RLIMIT_CORE",
  "RLIMIT_RSS",
  "RLIMIT_NPROC",
  "RLIMIT_NOFILE",
  "RLIMIT_MEMLOCK",
  "RLIMIT_AS",
  "RLIMIT_LOCKS",
  "RLIMIT_SIGPENDING",
  "RLIMIT_MSGQUEUE",
  "RLIMIT_NICE",
  "RLIMIT_RTPRIO",
  "RLIMIT_RTTIME",
] as const;

/** The resource number of "RLIMIT_NOFILE" (or "nofile"); undefined if unknown. */
export function rlimitNumber(name: string): number | undefined {
  const full = name.toUpperCase().startsWith("RLIMIT_")
    ? name.toUpperCase()
    : `RLIMIT_${name.toUpperCase()}`;
  const i = (RLIMIT_NAMES as readonly string[]).indexOf(full);
  return i < 0 ? undefined : i;
}

const q = JSON.stringify;
const limit = (v: bigint) => (v === 0xffffffffffffffffn ? "unlimited" : String(v));
const caps = (nums: number[]) =>
  nums.length > 6
    ? `${nums.length} capabilities`
    : capNames(nums.reduce((m, c) => m | (1n << BigInt(c)), 0n)).join(",");
const mask = (m: bigint) => `0x${m.toString(16)}`;

/** A one-line description of a step, as `--trace` prints it. */
export function formatStep(s: Step): string {
  switch (s.op) {
    case "wait-parent":
      return `close fd ${s.writeEnd}, wait for the parent on fd ${s.fd}`;
    case "notify":
      return `notify the parent: ${s.name}`;
    case "wait":
      return `wait for the parent on fd ${s.fd} (${s.name})`;
    case "wait-start":
      return `open the exec fifo (fd ${s.fifoFd}) for writing and write one byte (waits for start)`;
    case "wait-start-hooks":
      return `open the exec fifo (fd ${s.fifoFd}) for reading and read one byte (startContainer hooks)`;
    case "setns-path":
      return `join ${s.namespace} namespace ${q(s.path)}`;
    case "personality":
      return `personality 0x${s.persona.toString(16)}`;
    case "unshare":
      return `unshare ${s.namespaces.join(",")} namespace`;
    case "setns":
      return `join ${s.namespace} namespace ${s.path}`;
    case "join":
      return `join the ${s.namespaces.join(",")} namespaces of pid ${s.pid}`;
    case "sethostname":
      return `sethostname ${q(s.name)}`;
    case "setdomainname":
      return `setdomainname ${q(s.name)}`;
    case "mount":
      return `mount ${q(s.source ?? "none")} on ${q(s.target)}${
        s.fstype ? ` type ${s.fstype}` : ""
      } (${mountFlagNames(s.flags)}${s.data ? `, ${s.data}` : ""})${
        s.optional ? " if present" : ""
      }`;
    case "setattr":
      return `mount_setattr ${q(s.path)} set ${flagNames(s.set, MOUNT_ATTR, "MOUNT_ATTR_")}${
        s.recursive ? " recursively" : ""
      }${s.optional ? " if present" : ""}`;
    case "mkdir":
      return `mkdir ${q(s.path)} mode ${s.mode.toString(8)}`;
    case "symlink":
      return `symlink ${q(s.path)} -> ${q(s.target)}`;
    case "write-file":
      return `write ${q(s.data)} to ${q(s.path)}`;
    case "pivot-root":
      return `pivot_root into ${q(s.root)} and detach the old root`;
    case "chdir":
      return `chdir ${q(s.path)} (no magic links) and check it is below the root`;
    case "close-fds":
      return `close fds >= 3${s.keep.length ? ` except ${s.keep.join(",")}` : ""}`;
    case "hide-exe":
      return `unmap the runtime's executable (${s.unmap.length} mappings), /proc/self/exe -> fd ${s.exeFd}`;
    case "link-up":
      return `bring up ${s.name}`;
    case "rlimit":
      return `setrlimit ${s.name} soft=${limit(s.soft)} hard=${limit(s.hard)}`;
    case "drop-bounding":
      return `drop ${caps(s.caps)} from the bounding set`;
    case "clear-ambient":
      return "clear the ambient capability set";
    case "raise-ambient":
      return `raise ambient ${caps(s.caps)}`;
    case "no-new-privs":
      return "set no_new_privs";
    case "seccomp":
      return `install the seccomp filter (${s.filter.length / 8} BPF instructions${
        s.flags ? `, flags 0x${s.flags.toString(16)}` : ""
      })`;
    case "keep-caps":
      return `set keepcaps ${s.on ? "on" : "off"}`;
    case "setgroups":
      return `setgroups [${s.gids.join(",")}]`;
    case "setresgid":
      return `setresgid ${s.gid}`;
    case "setresuid":
      return `setresuid ${s.uid}`;
    case "capset":
      return `capset effective=${mask(s.effective)} permitted=${mask(s.permitted)} inheritable=${
        mask(s.inheritable)
      }`;
    case "console":
      return `open a console ${s.cols}x${s.rows} in /dev/pts and send its master on fd ${s.socketFd}`;
    case "setsid":
      return "setsid";
    case "dup2":
      return `dup2 ${s.from} -> ${s.to}`;
    case "cloexec-from":
      return `mark fds >= ${s.from} close-on-exec`;
    case "close-from":
      return `close fds >= ${s.from}${s.keep.length ? ` except ${s.keep.join(",")}` : ""}`;
    case "close":
      return `close fd ${s.fd} (${s.name})`;
    case "reset-signals":
      return "reset signal handlers and unblock signals";
    case "umask":
      return `umask ${s.mask.toString(8).padStart(4, "0")}`;
    case "exec":
      return `execve ${q(s.candidates.length === 1 ? s.candidates[0] : s.argv[0])} ${q(s.argv)}`;
  }
}
