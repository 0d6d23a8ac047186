// Kernel constants tsbox uses, with name tables so flags print by name
// (`MS_BIND|MS_REC`). Values are from the Linux UAPI headers and are the same
// on every architecture tsbox supports. Namespace CLONE_* flags live in
// src/runtime/namespaces.ts only.

/** mount(2) flags. */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** umount2(2) flags. */
export const MNT_DETACH = 2;

/** mount_setattr(2) attributes. */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;
/** sizeof(struct mount_attr) */
export const MOUNT_ATTR_SIZE_VER0 = 32;
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;
export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;

/** open(2) flags. */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** openat2(2) resolve flags. */
export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
} as const;
/** sizeof(struct open_how) for openat2(2): u64 flags, u64 mode, u64 resolve. */
export const OPEN_HOW_SIZE_VER0 = 24;

/** memfd_create(2) flags. */
export const MFD = { CLOEXEC: 1, ALLOW_SEALING: 2, NOEXEC_SEAL: 8, EXEC: 0x10 } as const;
/** fcntl(2) F_ADD_SEALS and the seals (memfd_create(2)). */
export const F_ADD_SEALS = 1033;
export const F_SEAL = { SEAL: 1, SHRINK: 2, GROW: 4, WRITE: 8 } as const;
/** sizeof(struct prctl_mm_map): 11 u64 fields, u64 auxv, u32 auxv_size, u32 exe_fd. */
export const PRCTL_MM_MAP_SIZE = 104;

/** File type bits of st_mode. */
export const S_IFMT = 0o170000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** prctl(2) options. */
export const PR = {
  SET_PDEATHSIG: 1,
  GET_DUMPABLE: 3,
  SET_DUMPABLE: 4,
  SET_KEEPCAPS: 8,
  SET_NAME: 15,
  CAPBSET_DROP: 24,
  SET_MM: 35,
  /** PR_SET_MM sub-option: struct prctl_mm_map (with exe_fd) at once. */
  SET_MM_MAP: 14,
  SET_CHILD_SUBREAPER: 36,
  SET_NO_NEW_PRIVS: 38,
  CAP_AMBIENT: 47,
  CAP_AMBIENT_RAISE: 2,
  CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

/** capset(2) header version 3. */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** Signals by name (x86_64 numbering, which is also the generic one). */
export const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};
export const SIGCHLD = 17;
export const SIGKILL = 9;
/** Highest real-time signal number. */
export const SIGRTMAX = 64;

/** waitid(2) */
export const P_PID = 1;
export const P_PIDFD = 3;
export const WEXITED = 4;
export const WNOHANG = 1;
export const WNOWAIT = 0x1000000;
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;

/** ioctl requests. */
export const TIOCSCTTY = 0x540e;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTPEER = 0x5441;
export const SIOCSIFFLAGS = 0x8914;
export const IFF_UP = 0x1;

export const CLOSE_RANGE_CLOEXEC = 4;

/** socket(2) */
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_NETLINK = 16;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;

/** Formats `value` as names from `table` joined by "|", with any unknown bits in hex. */
export function flagNames(
  value: number,
  table: Readonly<Record<string, number>>,
  prefix = "",
): string {
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (value & bit) === bit && (rest & bit) !== 0) {
      names.push(prefix + name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join("|") : "0";
}

/** `MS_BIND|MS_REC` for mount flags. */
export function mountFlagNames(flags: number): string {
  return flagNames(flags, MS, "MS_");
}

/** Netlink sockets (netlink(7), linux/netlink.h, linux/socket.h). */
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const SO_RCVTIMEO = 20;
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const AF_UNSPEC = 0;
export const AF_BRIDGE = 7;

/** bpf(2) commands tsbox uses (include/uapi/linux/bpf.h, enum bpf_cmd). */
export const BPF_CMD = {
  PROG_LOAD: 5,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_GET_FD_BY_ID: 13,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
} as const;
/** enum bpf_prog_type: a cgroup device filter. */
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
/** enum bpf_attach_type: attach point of a cgroup device filter. */
export const BPF_CGROUP_DEVICE = 6;
/** BPF_PROG_ATTACH flag: several programs may be attached; all must allow. */
export const BPF_F_ALLOW_MULTI = 2;
/** struct bpf_cgroup_dev_ctx access_type: device type (low 16 bits) and access (high 16 bits). */
export const BPF_DEVCG = {
  DEV_BLOCK: 1,
  DEV_CHAR: 2,
  ACC_MKNOD: 1,
  ACC_READ: 2,
  ACC_WRITE: 4,
} as const;
