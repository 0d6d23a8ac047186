// tsbox run: create and start a container, Docker style.

import { NotFoundError, UsageError } from "../../errors.ts";
import { defaultRunOptions, type RunOptions } from "../../spec/run_options.ts";
import { checkRunOptions } from "../../spec/run_config.ts";
import {
  bool,
  type FlagDef,
  type FlagValues,
  formatHelp,
  int,
  list,
  parseFlags,
  str,
} from "../flags.ts";

const USAGE = "run [OPTIONS] IMAGE [COMMAND] [ARG...]";
const DESCRIPTION = "Create and run a new container from an image.";
const EXAMPLES = [
  "tsbox run --rm busybox echo hello",
  "tsbox run --rm -it --hostname box busybox sh",
  "tsbox run --rm --network none --read-only -v /srv/data:/data:ro busybox ls /data",
  "tsbox run --rm --userns remap -v /tmp/out:/out busybox touch /out/file",
  "tsbox run --rm --trace busybox true          # every step, with its duration",
];

/** Flags of `run` (and `create`). */
export const RUN_FLAGS: FlagDef[] = [
  {
    name: "detach",
    short: "d",
    type: "bool",
    help: "Run the container in the background and print its id",
  },
  { name: "interactive", short: "i", type: "bool", help: "Keep STDIN open" },
  { name: "tty", short: "t", type: "bool", help: "Allocate a pseudo-TTY" },
  { name: "rm", type: "bool", help: "Remove the container when it exits" },
  { name: "name", type: "string", value: "NAME", help: "Name the container" },
  {
    name: "hostname",
    short: "h",
    type: "string",
    value: "NAME",
    help: "Container host name (default: short id)",
  },
  {
    name: "env",
    short: "e",
    type: "list",
    value: "KEY=VALUE",
    help: "Set an environment variable",
  },
  { name: "env-file", type: "list", value: "FILE", help: "Read environment variables from a file" },
  {
    name: "workdir",
    short: "w",
    type: "string",
    value: "DIR",
    help: "Working directory inside the container",
  },
  {
    name: "user",
    short: "u",
    type: "string",
    value: "USER[:GROUP]",
    help: "Username or uid, optional group",
  },
  { name: "entrypoint", type: "string", value: "CMD", help: "Overwrite the image's entrypoint" },
  {
    name: "volume",
    short: "v",
    type: "list",
    value: "HOST:CONTAINER[:ro]",
    help: "Bind mount a host directory or file",
  },
  { name: "tmpfs", type: "list", value: "PATH[:OPTS]", help: "Mount a tmpfs" },
  { name: "read-only", type: "bool", help: "Mount the container's root filesystem read-only" },
  {
    name: "rootfs",
    type: "string",
    value: "DIR",
    help: "Run DIR as the root filesystem, as is (no IMAGE)",
  },
  { name: "cap-add", type: "list", value: "CAP", help: "Add a Linux capability" },
  { name: "cap-drop", type: "list", value: "CAP", help: "Drop a Linux capability" },
  { name: "privileged", type: "bool", help: "Give all capabilities and devices, no masked paths" },
  {
    name: "security-opt",
    type: "list",
    value: "OPT",
    help: "Security options (no-new-privileges)",
  },
  {
    name: "ulimit",
    type: "list",
    value: "NAME=SOFT[:HARD]",
    help: "Set a resource limit (rlimit)",
  },
  {
    name: "network",
    type: "string",
    value: "MODE",
    help: "bridge (default), none, host, container:NAME or a network",
  },
  { name: "net", type: "string", value: "MODE", help: "Alias of --network", hidden: true },
  {
    name: "publish",
    short: "p",
    type: "list",
    value: "[IP:]HOST:CONTAINER[/PROTO]",
    help: "Publish a container port",
  },
  {
    name: "publish-all",
    short: "P",
    type: "bool",
    help: "Publish the image's exposed ports to random ports",
  },
  {
    name: "userns",
    type: "string",
    value: "MODE",
    help: "host (default) or remap: root inside maps to an unprivileged host uid",
  },
  { name: "pid", type: "string", value: "MODE", help: "PID namespace: private (default) or host" },
  { name: "ipc", type: "string", value: "MODE", help: "IPC namespace: private (default) or host" },
  { name: "uts", type: "string", value: "MODE", help: "UTS namespace: private (default) or host" },
  {
    name: "cgroupns",
    type: "string",
    value: "MODE",
    help: "cgroup namespace: private (default) or host",
  },
  {
    name: "restart",
    type: "string",
    value: "POLICY",
    help: "no, on-failure[:N], always, unless-stopped",
  },
  { name: "sysctl", type: "list", value: "KEY=VALUE", help: "Set a namespaced kernel parameter" },
  { name: "label", short: "l", type: "list", value: "KEY=VALUE", help: "Set a label" },
  { name: "cpus", type: "string", value: "N", help: "Number of CPUs (e.g. 0.5)" },
  { name: "cpu-shares", short: "c", type: "int", value: "N", help: "CPU shares (relative weight)" },
  { name: "cpu-period", type: "int", value: "US", help: "CFS period in microseconds" },
  { name: "cpu-quota", type: "int", value: "US", help: "CFS quota in microseconds" },
  { name: "cpuset-cpus", type: "string", value: "LIST", help: "CPUs to run on (0-3, 0,1)" },
  { name: "cpuset-mems", type: "string", value: "LIST", help: "Memory nodes to use" },
  { name: "memory", short: "m", type: "string", value: "BYTES", help: "Memory limit (e.g. 64m)" },
  {
    name: "memory-swap",
    type: "string",
    value: "BYTES",
    help: "Memory plus swap limit; -1 for unlimited swap",
  },
  { name: "memory-reservation", type: "string", value: "BYTES", help: "Memory soft limit" },
  { name: "oom-kill-disable", type: "bool", help: "Disable the OOM killer" },
  {
    name: "pids-limit",
    type: "int",
    value: "N",
    help: "Limit the number of processes (-1 unlimited)",
  },
  { name: "blkio-weight", type: "int", value: "N", help: "Block IO weight, 10 to 1000" },
  {
    name: "device-read-bps",
    type: "list",
    value: "DEV:RATE",
    help: "Limit read rate from a device",
  },
  {
    name: "device-write-bps",
    type: "list",
    value: "DEV:RATE",
    help: "Limit write rate to a device",
  },
  {
    name: "device-read-iops",
    type: "list",
    value: "DEV:RATE",
    help: "Limit read IO per second from a device",
  },
  {
    name: "device-write-iops",
    type: "list",
    value: "DEV:RATE",
    help: "Limit write IO per second to a device",
  },
  { name: "net-cls-classid", type: "int", value: "ID", help: "net_cls class id (cgroup v1)" },
  { name: "device", type: "list", value: "HOST[:CONTAINER[:rwm]]", help: "Add a host device" },
  {
    name: "device-cgroup-rule",
    type: "list",
    value: "RULE",
    help: "Add a rule to the devices cgroup",
  },
  {
    name: "cgroup-parent",
    type: "string",
    value: "GROUP",
    help: "Parent group (see `tsbox group`)",
  },
  {
    name: "log-driver",
    type: "string",
    value: "DRIVER",
    help: "Logging driver: json-file (default), local or none",
  },
  {
    name: "log-opt",
    type: "list",
    value: "KEY=VALUE",
    help: "Log driver option: max-size=SIZE, max-file=N",
  },
  { name: "trace", type: "bool", help: "Print every step tsbox takes, with its duration" },
  // img: the image is pulled by the CLI before the engine sees the request.
  {
    name: "pull",
    type: "string",
    value: "POLICY",
    help: 'Pull the image before running ("always", "missing", "never")',
  },
  { name: "platform", type: "string", value: "OS/ARCH", help: "Platform to pull (linux/amd64)" },
  { name: "help", type: "bool", help: "Print usage" },
];

/** img: pulls the image of `run`/`create` as --pull says (missing by default). */
export async function pullForRun(flags: FlagValues, opts: RunOptions): Promise<void> {
  if (opts.rootfs !== undefined) return;
  const { ensureImage } = await import("./pull.ts");
  const platform = str(flags, "platform");
  await ensureImage(opts.image, pullPolicy(flags), {
    ...(platform !== undefined ? { platform } : {}),
  });
}

/** `--pull missing|always|never`, checked. */
export function pullPolicy(flags: FlagValues): "missing" | "always" | "never" {
  const p = str(flags, "pull") ?? "missing";
  if (p !== "missing" && p !== "always" && p !== "never") {
    throw new UsageError(
      `invalid pull option: ${JSON.stringify(p)}: must be one of "always", "missing" or "never"`,
    );
  }
  return p;
}

/** Whether `e` (or a cause) says the image is not in the store. */
function imageMissing(e: unknown): boolean {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    if (c.name === "ImageNotFoundError") return true;
  }
  return false;
}

/**
 * Runs `create` with the image in the store: with `--pull missing` (the
 * default) the request goes first, and only an image the engine does not
 * find is pulled (then the request goes again) — a run of a present image
 * loads no registry or store code here; `always` pulls first; `never` never.
 */
export async function withImage<T>(
  flags: FlagValues,
  opts: RunOptions,
  create: () => Promise<T>,
): Promise<T> {
  const policy = pullPolicy(flags);
  if (opts.rootfs !== undefined) return await create();
  if (policy === "never") {
    try {
      return await create();
    } catch (e) {
      if (imageMissing(e)) throw new NotFoundError(`no such image: ${opts.image}`);
      throw e;
    }
  }
  if (policy === "always") {
    await pullForRun(flags, opts);
    return await create();
  }
  try {
    return await create();
  } catch (e) {
    if (!imageMissing(e)) throw e;
  }
  await pullForRun(flags, opts);
  return await create();
}

/** Help text of run. */
export const HELP = formatHelp(USAGE, DESCRIPTION, EXAMPLES, RUN_FLAGS);

/** Turns parsed flags and positionals into RunOptions. */
export function runOptions(flags: FlagValues, positionals: string[]): RunOptions {
  const o = defaultRunOptions();
  const rootfs = str(flags, "rootfs");
  if (rootfs !== undefined) {
    o.rootfs = rootfs;
    o.command = positionals;
  } else {
    if (positionals.length === 0) {
      throw new UsageError(`"tsbox run" requires at least 1 argument.\nSee 'tsbox run --help'.`);
    }
    o.image = positionals[0]!;
    o.command = positionals.slice(1);
  }
  const s = (name: string) => str(flags, name);
  const set = <K extends keyof RunOptions>(key: K, v: RunOptions[K] | undefined) => {
    if (v !== undefined) o[key] = v;
  };
  set("name", s("name"));
  set("hostname", s("hostname"));
  set("workdir", s("workdir"));
  set("user", s("user"));
  set("entrypoint", s("entrypoint"));
  set("pid", s("pid"));
  set("ipc", s("ipc"));
  set("uts", s("uts"));
  set("cgroupns", s("cgroupns"));
  set("cgroupParent", s("cgroup-parent"));
  o.env = list(flags, "env");
  o.envFiles = list(flags, "env-file");
  o.interactive = bool(flags, "interactive");
  o.tty = bool(flags, "tty");
  o.autoRemove = bool(flags, "rm");
  o.detach = bool(flags, "detach");
  o.volumes = list(flags, "volume");
  o.tmpfs = list(flags, "tmpfs");
  o.readOnly = bool(flags, "read-only");
  o.capAdd = list(flags, "cap-add");
  o.capDrop = list(flags, "cap-drop");
  o.privileged = bool(flags, "privileged");
  o.securityOpt = list(flags, "security-opt");
  o.ulimits = list(flags, "ulimit");
  o.network = s("network") ?? s("net") ?? o.network;
  o.publish = list(flags, "publish");
  o.publishAll = bool(flags, "publish-all");
  o.userns = s("userns") ?? o.userns;
  o.trace = bool(flags, "trace");
  o.restart = s("restart") ?? o.restart;
  o.sysctls = list(flags, "sysctl");
  o.labels = list(flags, "label");
  o.devices = list(flags, "device");
  o.deviceCgroupRules = list(flags, "device-cgroup-rule");
  const r = o.resources;
  const rs = <K extends keyof typeof r>(key: K, v: (typeof r)[K] | undefined) => {
    if (v !== undefined) r[key] = v;
  };
  rs("cpus", s("cpus"));
  rs("cpuShares", int(flags, "cpu-shares"));
  rs("cpuPeriod", int(flags, "cpu-period"));
  rs("cpuQuota", int(flags, "cpu-quota"));
  rs("cpusetCpus", s("cpuset-cpus"));
  rs("cpusetMems", s("cpuset-mems"));
  rs("memory", s("memory"));
  rs("memorySwap", s("memory-swap"));
  rs("memoryReservation", s("memory-reservation"));
  if (bool(flags, "oom-kill-disable")) r.oomKillDisable = true;
  rs("pidsLimit", int(flags, "pids-limit"));
  rs("blkioWeight", int(flags, "blkio-weight"));
  rs("netClsClassid", int(flags, "net-cls-classid"));
  r.deviceReadBps = list(flags, "device-read-bps");
  r.deviceWriteBps = list(flags, "device-write-bps");
  r.deviceReadIops = list(flags, "device-read-iops");
  r.deviceWriteIops = list(flags, "device-write-iops");
  set("logDriver", s("log-driver"));
  o.logOpts = list(flags, "log-opt");
  return o;
}

/** Entry point of `tsbox run`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("run", args, RUN_FLAGS);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const opts = runOptions(flags, positionals);
  // Everything that needs neither the image nor the state is checked here,
  // before a supervisor is asked (or started): bad input changes nothing.
  for (const w of checkRunOptions(opts)) console.error(w);
  const { runDetached, runForeground } = await import("../../container/run.ts");
  if (opts.detach) {
    console.log(await withImage(flags, opts, () => runDetached(opts)));
    return 0;
  }
  return await withImage(flags, opts, () => runForeground(opts));
}
