// tsbox-runc features: what this runtime implements, as runtime-spec 1.1's
// features.md describes it (containerd and CRI-O read it to decide what to
// ask for). Kept true to the code: a feature is listed once it works.

import { CAPABILITIES } from "../../runtime/capabilities.ts";
import { NAMESPACES } from "../../runtime/namespaces.ts";
import { SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "../../seccomp/bpf.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import type { GlobalOptions } from "./log.ts";

const FLAGS: FlagDef[] = [{ name: "help", short: "h", type: "bool", help: "show help" }];
const HELP = formatHelp("runtime features", "Print the runtime's features as JSON.", [
  "tsbox-runc features",
], FLAGS);

/** Mount options tsbox understands (src/mount/options.ts). */
const MOUNT_OPTIONS = [
  "async",
  "atime",
  "bind",
  "defaults",
  "dev",
  "diratime",
  "dirsync",
  "exec",
  "idmap",
  "mand",
  "noatime",
  "nodev",
  "nodiratime",
  "noexec",
  "nomand",
  "norelatime",
  "nostrictatime",
  "nosuid",
  "nosymfollow",
  "private",
  "rbind",
  "relatime",
  "remount",
  "ridmap",
  "ro",
  "rprivate",
  "rshared",
  "rslave",
  "runbindable",
  "rw",
  "shared",
  "slave",
  "strictatime",
  "suid",
  "sync",
  "unbindable",
];

/** The features document. */
export function features(): Record<string, unknown> {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.1.0",
    hooks: [
      "prestart",
      "createRuntime",
      "createContainer",
      "startContainer",
      "poststart",
      "poststop",
    ],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: NAMESPACES.map((n) => n.oci),
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: SECCOMP_ACTIONS,
        operators: SECCOMP_OPERATORS,
        archs: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        knownFlags: SECCOMP_FLAGS,
        supportedFlags: SECCOMP_FLAGS,
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: { "io.github.tsbox.version": "0.1.0" },
  };
}

/** Entry point of `tsbox-runc features`. */
export function main(_g: GlobalOptions, args: string[]): Promise<number> {
  const { flags } = parseFlags("features", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  console.log(JSON.stringify(features(), null, "    "));
  return Promise.resolve(0);
}
