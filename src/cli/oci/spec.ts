// tsbox-runc spec: write a starting config.json (runc spec's example, with
// the same defaults: a read-only root, the usual mounts, masked paths).

import { UsageError } from "../../errors.ts";
import type { Spec } from "../../spec/types.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import type { GlobalOptions } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "bundle", short: "b", type: "string", value: "DIR", help: "write config.json there" },
  { name: "rootless", type: "bool", help: "a config for a user namespace" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime spec [--bundle DIR]", "Write a config.json to start from.", [
  "mkdir -p b/rootfs && tsbox-runc spec --bundle b",
], FLAGS);

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** runc's example spec. */
export function exampleSpec(rootless = false): Spec {
  const spec: Spec = {
    ociVersion: "1.1.0",
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "tsbox",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
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
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
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
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
  if (rootless) {
    spec.linux!.namespaces!.push({ type: "user" });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    delete spec.linux!.resources;
  }
  return spec;
}

/** Entry point of `tsbox-runc spec`. */
export async function main(_g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("spec", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`"spec" takes no arguments`);
  const dir = str(flags, "bundle") ?? ".";
  const path = `${dir}/config.json`;
  try {
    await Deno.lstat(path);
    throw new UsageError(`file ${path} exists: remove it first`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.writeTextFile(path, JSON.stringify(exampleSpec(bool(flags, "rootless")), null, "\t"));
  return 0;
}
