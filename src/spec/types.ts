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
  linux?: Linux;
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
}

/** linux.seccomp of the OCI runtime spec (the subset tsbox compiles: src/seccomp/bpf.ts). */
export interface Seccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: SeccompRule[];
}

export type SeccompAction =
  | "SCMP_ACT_ALLOW"
  | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_KILL"
  | "SCMP_ACT_KILL_THREAD"
  | "SCMP_ACT_KILL_PROCESS"
  | "SCMP_ACT_TRAP"
  | "SCMP_ACT_LOG";

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
  op: "SCMP_CMP_EQ" | "SCMP_CMP_NE" | "SCMP_CMP_MASKED_EQ";
}
