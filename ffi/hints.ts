// Hints for errno values that mislead, appended to SyscallError messages
// (after bubblewrap's note on mount ENOSPC). Keyed by syscall and errno name.

import { errnoName } from "./errno.ts";

type Hint = (detail: string) => string | undefined;

const hints: Record<string, Hint> = {
  "unshare:EINVAL": (d) =>
    d.includes("CLONE_NEWUSER")
      ? "a multi-threaded process cannot unshare a user namespace; tsbox creates it with clone"
      : undefined,
  "write:EBUSY": (d) =>
    d.includes("cgroup.procs")
      ? "cgroup v2 does not allow processes in a group that has controllers enabled for its children"
      : undefined,
  "write:EOPNOTSUPP": (d) =>
    d.includes("cgroup.procs")
      ? "the cgroup is threaded or the controller is not enabled"
      : undefined,
  "write:ENOSPC": (d) =>
    d.includes("cgroup.procs")
      ? "a cgroup v1 cpuset group with empty cpuset.cpus or cpuset.mems refuses tasks"
      : undefined,
  "bpf:EPERM": () => "loading or attaching a BPF program needs root (CAP_SYS_ADMIN)",
  "mount:ENOSPC": () =>
    "the mount namespace has reached its limit of mounts (/proc/sys/fs/mount-max)",
  "mount:ENODEV": (d) => (d.includes("overlay") ? "the overlay module is not loaded" : undefined),
  "mount_setattr:EINVAL": (d) =>
    d.includes("IDMAP")
      ? "this kernel or filesystem does not support idmapped mounts (Linux 5.19+ for overlayfs)"
      : undefined,
  "clone3:ENOSPC": () =>
    "the user or PID namespace limit is reached (/proc/sys/user/max_*_namespaces)",
  "clone:ENOSPC": () =>
    "the user or PID namespace limit is reached (/proc/sys/user/max_*_namespaces)",
  "clone3:EPERM": () => "creating namespaces needs root (CAP_SYS_ADMIN); run tsbox with sudo",
  "clone:EPERM": () => "creating namespaces needs root (CAP_SYS_ADMIN); run tsbox with sudo",
  "setns:EINVAL": (d) =>
    d.includes("mnt") || d.includes("user")
      ? "a multi-threaded process can enter this namespace only from a single-threaded child"
      : undefined,
  "prlimit64:EPERM": () => "raising a hard limit needs CAP_SYS_RESOURCE on the host",
  "socket:EAFNOSUPPORT": () => "the kernel lacks this socket family (is the module loaded?)",
};

/** A hint that helps with `errno` from `syscall`, or undefined. */
export function errnoHint(syscall: string, errno: number, detail: string): string | undefined {
  return hints[`${syscall}:${errnoName(errno)}`]?.(detail);
}
