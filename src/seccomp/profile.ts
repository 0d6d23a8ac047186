// tsbox's default seccomp profile, modelled on Docker's (moby
// profiles/seccomp/default.json): the same syscalls are refused, with EPERM,
// but written as a deny list over a default of ALLOW, so it stays short and
// readable. What a capability unlocks in Docker's profile is unlocked here
// when the container has that capability (--cap-add), and --privileged or
// --security-opt seccomp=unconfined installs no filter at all.
//
// The same refusals apply to 32-bit (i386) programs, through their own
// syscall numbers; x32 is refused outright.
//
// Refused always: the kernel keyring (not namespaced), userfaultfd and
// io_uring (frequent exploit primitives), kexec, and obsolete calls.
// Refused without CAP_SYS_ADMIN: new namespaces (clone with CLONE_NEW*,
// unshare, setns), mounts, bpf, perf_event_open, ... clone3 answers ENOSYS
// instead, so that libc falls back to clone(2), whose flags a filter can see.

import { Errno } from "../../ffi/errno.ts";
import type { Seccomp, SeccompRule } from "../spec/types.ts";

/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET, as in Docker's profile. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

const ALWAYS = [
  "vm86",
  "vm86old",
  "add_key",
  "keyctl",
  "request_key",
  "userfaultfd",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "kexec_load",
  "kexec_file_load",
  "create_module",
  "get_kernel_syms",
  "query_module",
  "nfsservctl",
  "uselib",
  "ustat",
  "sysfs",
  "_sysctl",
  "lookup_dcookie",
];

/** Syscalls refused unless the container holds the capability. */
const BY_CAPABILITY: Record<string, string[]> = {
  CAP_SYS_ADMIN: [
    "bpf",
    "fanotify_init",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "mount",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "quotactl",
    "quotactl_fd",
    "setns",
    "swapon",
    "swapoff",
    "umount",
    "umount2",
    "unshare",
  ],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_MODULE: ["init_module", "finit_module", "delete_module"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_TIME: [
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "clock_adjtime",
    "clock_adjtime64",
  ],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYS_PTRACE: ["kcmp"],
  CAP_SYS_NICE: ["get_mempolicy", "mbind", "set_mempolicy", "move_pages"],
  CAP_DAC_READ_SEARCH: ["open_by_handle_at"],
  CAP_SYS_TTY_CONFIG: ["vhangup"],
};

/** personality(2) values Docker's profile allows (PER_LINUX, PER_LINUX32, UNAME26, ..., query). */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** The default profile for a container whose bounding set is `caps`. */
export function defaultSeccomp(caps: readonly string[]): Seccomp {
  const has = (c: string) => caps.includes(c);
  const denied = [...ALWAYS];
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (!has(cap)) denied.push(...names);
  // syslog(2) needs CAP_SYSLOG or CAP_SYS_ADMIN.
  if (!has("CAP_SYSLOG") && !has("CAP_SYS_ADMIN")) denied.push("syslog");
  const rules: SeccompRule[] = [
    { names: denied, action: "SCMP_ACT_ERRNO", errnoRet: Errno.EPERM },
    // personality: only the harmless values; rules are tried in order.
    ...PERSONALITIES.map((v): SeccompRule => ({
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: v, op: "SCMP_CMP_EQ" }],
    })),
    { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: Errno.EPERM },
  ];
  if (!has("CAP_SYS_ADMIN")) {
    rules.push(
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      },
      { names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: Errno.EPERM },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: Errno.ENOSYS },
    );
  }
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    syscalls: rules,
  };
}
