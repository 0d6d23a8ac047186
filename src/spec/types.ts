// The OCI runtime spec (config.json), the part tsbox reads and writes. It is
// the internal model of a container: the Docker-style CLI turns flags and the
// image config into a Spec; the executor runs a Spec.
// Reference: https://github.com/opencontainers/runtime-spec (config.md, config-linux.md).

/** Spec version tsbox writes. */
export const OCI_VERSION = "1.2.0";

export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  annotations?: Record<string, string>;
  hooks?: Hooks;
  linux?: Linux;
}

/** A hook: a program the runtime runs at a point of the lifecycle, with the state JSON on stdin. */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds; the hook is killed and the operation fails when it runs longer. */
  timeout?: number;
}

/** config.md "POSIX-platform Hooks". */
export interface Hooks {
  /** Deprecated; run with createRuntime. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  umask?: number;
  oomScoreAdj?: number;
  /** Ignored by tsbox (no AppArmor or SELinux support); accepted so configs run. */
  apparmorProfile?: string;
  selinuxLabel?: string;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface Rlimit {
  /** e.g. "RLIMIT_NOFILE". */
  type: string;
  hard: number;
  soft: number;
}

export interface Root {
  path: string;
  readonly?: boolean;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  /** An id-mapped bind mount (mount_setattr MOUNT_ATTR_IDMAP). */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Namespace {
  type: "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";
  path?: string;
}

export interface DeviceNode {
  type: "c" | "b" | "u" | "p";
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface DeviceRule {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number | null;
  minor?: number | null;
  access?: string;
}

export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface Resources {
  devices?: DeviceRule[];
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    kernel?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    leafWeight?: number;
    weightDevice?: { major: number; minor: number; weight?: number }[];
    throttleReadBpsDevice?: ThrottleDevice[];
    throttleWriteBpsDevice?: ThrottleDevice[];
    throttleReadIOPSDevice?: ThrottleDevice[];
    throttleWriteIOPSDevice?: ThrottleDevice[];
  };
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  hugepageLimits?: { pageSize: string; limit: number }[];
  unified?: Record<string, string>;
}

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: DeviceNode[];
  cgroupsPath?: string;
  resources?: Resources;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
  seccomp?: Seccomp;
  personality?: { domain: string; flags?: string[] };
  /** Ignored by tsbox (no SELinux support). */
  mountLabel?: string;
}

/** linux.seccomp of the OCI runtime spec (the subset tsbox compiles: src/seccomp/bpf.ts). */
export interface Seccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  /** SECCOMP_FILTER_FLAG_* names, passed to seccomp(2). */
  flags?: string[];
  /** SCMP_ACT_NOTIFY's socket: refused, tsbox does not support notify. */
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[];
}

export type SeccompAction =
  | "SCMP_ACT_ALLOW"
  | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_KILL"
  | "SCMP_ACT_KILL_THREAD"
  | "SCMP_ACT_KILL_PROCESS"
  | "SCMP_ACT_TRAP"
  | "SCMP_ACT_TRACE"
  | "SCMP_ACT_LOG"
  | "SCMP_ACT_NOTIFY";

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op:
    | "SCMP_CMP_EQ"
    | "SCMP_CMP_NE"
    | "SCMP_CMP_LT"
    | "SCMP_CMP_LE"
    | "SCMP_CMP_GT"
    | "SCMP_CMP_GE"
    | "SCMP_CMP_MASKED_EQ";
}
