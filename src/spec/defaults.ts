// Docker's defaults for a container (moby oci/defaults.go and
// daemon/oci_linux.go): capabilities, mounts, masked and read-only paths,
// device nodes, environment. The CLI starts from these; flags change them.

import type { DeviceNode, Mount } from "./types.ts";

/** Docker's 14 default capabilities. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Paths hidden from the container: files get /dev/null bound over them, directories an empty read-only tmpfs. */
export const MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/interrupts",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/sys/devices/virtual/powercap",
  "/sys/firmware",
];

/** Paths made read-only inside the container. */
export const READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** The filesystems every container gets (before user volumes). */
export function defaultMounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["ro", "nosuid", "noexec", "nodev"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
  ];
}

/** Device nodes created in every container's /dev. */
export function defaultDevices(): DeviceNode[] {
  const c = (path: string, major: number, minor: number): DeviceNode => ({
    type: "c",
    path,
    major,
    minor,
    fileMode: 0o666,
    uid: 0,
    gid: 0,
  });
  return [
    c("/dev/null", 1, 3),
    c("/dev/zero", 1, 5),
    c("/dev/full", 1, 7),
    c("/dev/random", 1, 8),
    c("/dev/urandom", 1, 9),
    c("/dev/tty", 5, 0),
  ];
}

/** $PATH when the image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Host range the container's root maps to with `--userns remap` when /etc/subuid has no `tsbox` entry. */
export const DEFAULT_REMAP = { hostID: 100000, size: 65536 } as const;
