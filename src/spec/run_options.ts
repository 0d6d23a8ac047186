// What a user asks of `tsbox run` (and `create`), independent of how it was
// typed: the Docker-style CLI fills this from flags, and the engine turns it
// into an OCI spec (src/spec/from_run.ts) plus the resources tsbox manages
// around it (overlay, network, cgroup, records).

/** Options of one container. */
export interface RunOptions {
  /** Image reference; empty with `rootfs`. */
  image: string;
  /** Run this directory as the root filesystem, as is (no image, no overlay). */
  rootfs?: string;
  /** Command and arguments after the image. */
  command: string[];
  entrypoint?: string;
  name?: string;
  hostname?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
  interactive: boolean;
  tty: boolean;
  /** The size of the user's terminal, for the container's pty. */
  consoleSize?: { height: number; width: number };
  autoRemove: boolean;
  detach: boolean;
  volumes: string[];
  tmpfs: string[];
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  ulimits: string[];
  /** bridge (default), none, host, container:NAME, or a user network. */
  network: string;
  publish: string[];
  publishAll: boolean;
  /** host (default) or remap. */
  userns: string;
  /** host or private (default), for pid, ipc, uts. */
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  /** Print every step with its duration. */
  trace: boolean;
  /** Resource limits, as `docker run` takes them (strings as typed). */
  resources: ResourceFlags;
  /** Restart policy: no, on-failure[:N], always, unless-stopped. */
  restart: string;
  /** Kernel parameters inside the container (--sysctl). */
  sysctls: string[];
  devices: string[];
  deviceCgroupRules: string[];
  cgroupParent?: string;
  labels: string[];
  /** --log-driver (undefined: the host's default, see src/spec/log_config.ts). */
  logDriver?: string;
  /** --log-opt KEY=VALUE. */
  logOpts: string[];
}

/** Docker's resource flags, unparsed. */
export interface ResourceFlags {
  cpus?: string;
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  oomKillDisable?: boolean;
  pidsLimit?: number;
  blkioWeight?: number;
  deviceReadBps: string[];
  deviceWriteBps: string[];
  deviceReadIops: string[];
  deviceWriteIops: string[];
  netClsClassid?: number;
}

/** Defaults for every field a caller may leave out. */
export function defaultRunOptions(): RunOptions {
  return {
    image: "",
    command: [],
    env: [],
    envFiles: [],
    interactive: false,
    tty: false,
    autoRemove: false,
    detach: false,
    volumes: [],
    tmpfs: [],
    readOnly: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    securityOpt: [],
    ulimits: [],
    network: "bridge",
    publish: [],
    publishAll: false,
    userns: "host",
    trace: false,
    resources: { deviceReadBps: [], deviceWriteBps: [], deviceReadIops: [], deviceWriteIops: [] },
    restart: "no",
    sysctls: [],
    devices: [],
    deviceCgroupRules: [],
    labels: [],
    logOpts: [],
  };
}
