// Turns `tsbox run` options and an image config into an OCI runtime spec,
// validating everything first: a bad flag is a UsageError (exit 125) before
// any kernel object exists. Docker's behaviour is the reference (moby
// daemon/oci_linux.go): default capabilities, masked paths, /etc files bound
// from the container's directory, rlimits.

import { UsageError } from "../errors.ts";
import { checkWorkdir } from "../runtime/workdir.ts";
import { checkTmpfsOptions } from "../mount/options.ts";
import { ANONYMOUS_VOLUME } from "./volumes.ts";
import type { RunOptions } from "./run_options.ts";
import { containerResources, plainResourceHost, type ResourceHost } from "./resources.ts";
import { CAPABILITIES, capNumber, lastCap, normalizeCap } from "../runtime/capabilities.ts";
import { rlimitNumber } from "../runtime/steps.ts";
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH,
  defaultDevices,
  defaultMounts,
  MASKED_PATHS,
  READONLY_PATHS,
} from "./defaults.ts";
import type { IdMapping, Mount, Namespace, Rlimit, Spec } from "./types.ts";
import { OCI_VERSION } from "./types.ts";
import { resolveUser } from "./user.ts";
import { defaultSeccomp } from "../seccomp/profile.ts";
import { mergeEnv, parseEnvFile } from "./env.ts";

/** An image's runtime config (the `config` object of an OCI image config). */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  /** VOLUME instructions: each becomes an anonymous volume unless a mount is there. */
  Volumes?: Record<string, Record<string, never>>;
}

/**
 * The image's volumes (its VOLUME instructions) that no user mount covers:
 * each an anonymous volume, as Docker makes them.
 */
export function imageVolumes(img: ImageConfig, mounts: readonly Mount[]): Mount[] {
  const taken = new Set(mounts.map((m) => m.destination));
  const out: Mount[] = [];
  for (const key of Object.keys(img.Volumes ?? {})) {
    const dst = key.replace(/\/+$/, "") || "/";
    if (!dst.startsWith("/") || dst === "/" || taken.has(dst)) continue;
    if (/^\/(proc|sys)(\/|$)/.test(dst)) continue;
    taken.add(dst);
    out.push({
      destination: dst,
      type: "bind",
      source: ANONYMOUS_VOLUME,
      options: ["rbind", "rw", "rprivate"],
    });
  }
  return out;
}

/** Facts from outside the options that the spec depends on. */
export interface SpecContext {
  image: ImageConfig;
  hostname: string;
  /** The image's /etc/passwd and /etc/group ("" when absent). */
  passwd: string;
  group: string;
  /** Files bound over /etc/hostname, /etc/hosts, /etc/resolv.conf. */
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
  /** Contents of --env-file files, in order. */
  envFileTexts: string[];
  /** The host's limits: [soft, hard] by RLIMIT name. */
  hostLimits: Record<string, [bigint, bigint]>;
  /** tsbox's own bounding set: the capabilities it can grant. */
  boundingSet?: bigint;
  /** Whether tsbox holds CAP_SYS_RESOURCE (may raise hard limits). */
  canRaiseLimits: boolean;
  /** uid/gid mappings for --userns remap. */
  remap?: { uid: IdMapping[]; gid: IdMapping[] };
  /** Host device nodes for --privileged. */
  hostDevices?: () => NonNullable<Spec["linux"]>["devices"];
  /** Host facts for the resource flags (default: plainResourceHost()). */
  resourceHost?: ResourceHost;
  /** The container's cgroup (linux.cgroupsPath), e.g. "tsbox/<id>". */
  cgroupsPath?: string;
}

const UNLIMITED = 0xffffffffffffffffn;

/** The capability set after --cap-add/--cap-drop/--privileged. */
export function capabilitySet(
  add: readonly string[],
  drop: readonly string[],
  privileged: boolean,
  /** The capabilities tsbox itself may grant (its bounding set). */
  available: bigint = (1n << 64n) - 1n,
): string[] {
  const norm = (list: readonly string[], flag: string) =>
    list.map((c) => {
      const n = normalizeCap(c);
      if (!n) throw new UsageError(`invalid capability for ${flag}: ${JSON.stringify(c)}`);
      return n;
    });
  const adds = norm(add, "--cap-add"), drops = norm(drop, "--cap-drop");
  const grantable = (c: string) => ((available >> BigInt(capNumber(c) ?? 63)) & 1n) === 1n;
  for (const a of adds) {
    if (a !== "ALL" && !grantable(a)) {
      throw new UsageError(
        `--cap-add ${a}: tsbox itself lacks this capability on this host (not in its bounding set)`,
      );
    }
  }
  // What tsbox does not hold it cannot give (capset would fail with EPERM).
  const all = (CAPABILITIES.slice(0, lastCap() + 1) as readonly string[]).filter(grantable);
  if (privileged) return [...all];
  let set = drops.includes("ALL") ? [] : [...DEFAULT_CAPABILITIES];
  if (adds.includes("ALL")) set = [...all];
  set = set.filter((c) => !drops.includes(c));
  for (const a of adds) if (a !== "ALL" && !set.includes(a)) set.push(a);
  return set.filter(grantable);
}

/** Parses `--ulimit name=soft[:hard]` and checks it against the host's limits. */
export function parseUlimit(
  u: string,
  ctx: Pick<SpecContext, "hostLimits" | "canRaiseLimits">,
): Rlimit {
  const m = u.match(/^([a-z]+)=(-?\d+|unlimited)(?::(-?\d+|unlimited))?$/);
  if (!m) throw new UsageError(`invalid ulimit ${JSON.stringify(u)}: expected NAME=SOFT[:HARD]`);
  const type = `RLIMIT_${m[1]!.toUpperCase()}`;
  if (rlimitNumber(type) === undefined) {
    throw new UsageError(`invalid ulimit ${JSON.stringify(u)}: unknown limit ${m[1]}`);
  }
  const val = (s: string) => (s === "unlimited" || s === "-1" ? UNLIMITED : BigInt(s));
  const soft = val(m[2]!), hard = val(m[3] ?? m[2]!);
  if (soft > hard) {
    throw new UsageError(
      `invalid ulimit ${JSON.stringify(u)}: soft limit ${soft} exceeds hard limit ${hard}`,
    );
  }
  const host = ctx.hostLimits[type];
  if (host && hard > host[1] && !ctx.canRaiseLimits) {
    const show = (v: bigint) => (v === UNLIMITED ? "unlimited" : String(v));
    throw new UsageError(
      `ulimit ${m[1]}: hard limit ${show(hard)} exceeds the host's hard limit ${
        show(host[1])
      } (raising it needs CAP_SYS_RESOURCE, which tsbox does not have here)`,
    );
  }
  return { type, soft: Number(soft), hard: Number(hard) };
}

/** Parses `-v HOST:CONTAINER[:ro|rw]` into a bind mount; `-v /data` is an anonymous volume. */
export function parseVolume(v: string): Mount {
  const parts = v.split(":");
  if (parts.length === 1 && v.startsWith("/") && v !== "/") {
    return {
      destination: v.replace(/\/+$/, ""),
      type: "bind",
      source: ANONYMOUS_VOLUME,
      options: ["rbind", "rw", "rprivate"],
    };
  }
  if (parts.length < 2 || parts.length > 3) {
    throw new UsageError(
      `invalid volume ${JSON.stringify(v)}: expected HOST-DIR:CONTAINER-DIR[:ro|rw]`,
    );
  }
  const [src, dst, mode = "rw"] = parts as [string, string, string?];
  if (!src.startsWith("/")) {
    throw new UsageError(`invalid volume ${JSON.stringify(v)}: the host path must be absolute`);
  }
  if (!dst.startsWith("/")) {
    throw new UsageError(
      `invalid volume ${JSON.stringify(v)}: the container path must be absolute`,
    );
  }
  if (dst === "/") {
    throw new UsageError(
      `invalid volume ${JSON.stringify(v)}: cannot mount over the container's root`,
    );
  }
  const opts = mode.split(",");
  for (const o of opts) {
    if (!["ro", "rw", "z", "Z", "rprivate", "private", "rslave", "slave", "nocopy"].includes(o)) {
      throw new UsageError(
        `invalid volume ${JSON.stringify(v)}: unknown option ${JSON.stringify(o)}`,
      );
    }
  }
  return {
    destination: dst.replace(/\/+$/, ""),
    type: "bind",
    source: src,
    options: ["rbind", opts.includes("ro") ? "ro" : "rw", "rprivate"],
  };
}

/** Parses `--tmpfs /path[:opts]`. */
export function parseTmpfs(t: string): Mount {
  const i = t.indexOf(":");
  const dst = i < 0 ? t : t.slice(0, i);
  if (!dst.startsWith("/")) {
    throw new UsageError(`invalid tmpfs ${JSON.stringify(t)}: the path must be absolute`);
  }
  const extra = i < 0 ? [] : t.slice(i + 1).split(",").filter(Boolean);
  try {
    checkTmpfsOptions(extra);
  } catch (e) {
    throw new UsageError(`invalid tmpfs ${JSON.stringify(t)}: ${(e as Error).message}`);
  }
  return {
    destination: dst,
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "nodev", "noexec", ...extra],
  };
}

function namespaceMode(
  flag: string,
  v: string | undefined,
  dflt: "private" | "host",
): "private" | "host" {
  const mode = v ?? dflt;
  if (mode !== "private" && mode !== "host" && !(flag === "--ipc" && mode === "shareable")) {
    throw new UsageError(
      `invalid value for ${flag}: ${JSON.stringify(mode)} (expected host or private)`,
    );
  }
  return mode === "host" ? "host" : "private";
}

const IPC_SYSCTLS = [
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
];

/** Parses --sysctl KEY=VALUE, allowing only what the container's own namespaces scope (as Docker). */
export function parseSysctls(
  list: readonly string[],
  ns: { ipc: boolean; net: boolean },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of list) {
    const i = s.indexOf("=");
    if (i <= 0) throw new UsageError(`invalid --sysctl ${JSON.stringify(s)}: expected KEY=VALUE`);
    const key = s.slice(0, i), value = s.slice(i + 1);
    if (!/^[a-z0-9_.-]+$/.test(key) || key.includes("..")) {
      throw new UsageError(`invalid --sysctl key ${JSON.stringify(key)}`);
    }
    const ipc = IPC_SYSCTLS.includes(key) || key.startsWith("fs.mqueue.");
    if (ipc && !ns.ipc) {
      throw new UsageError(`sysctl ${JSON.stringify(key)} is not allowed with --ipc host`);
    }
    if (key.startsWith("net.") && !ns.net) {
      throw new UsageError(`sysctl ${JSON.stringify(key)} is not allowed with --network host`);
    }
    if (!ipc && !key.startsWith("net.")) {
      throw new UsageError(
        `sysctl ${JSON.stringify(key)} is not allowed: only net.* and IPC sysctls are namespaced`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** What `--security-opt` asks: no_new_privs and whether a seccomp filter applies. */
export function securityOptions(
  opts: Pick<RunOptions, "securityOpt" | "privileged">,
): { noNewPrivileges: boolean; seccomp: boolean } {
  let nnp = false;
  let seccomp = !opts.privileged;
  for (const so of opts.securityOpt) {
    if (/^no-new-privileges(:true|=true)?$/.test(so)) nnp = true;
    else if (/^no-new-privileges(:false|=false)$/.test(so)) nnp = false;
    else if (/^seccomp[=:]unconfined$/.test(so)) seccomp = false;
    else if (!/^apparmor[=:]unconfined$|^label[=:]disable$/.test(so)) {
      throw new UsageError(
        `invalid --security-opt: ${
          JSON.stringify(so)
        } (supported: no-new-privileges, seccomp=unconfined)`,
      );
    }
  }
  return { noNewPrivileges: nnp, seccomp };
}

/** The namespace modes of `--pid`, `--ipc`, `--uts`, `--cgroupns`, `--userns`, checked together. */
export function namespaceModes(opts: RunOptions) {
  const pidMode = namespaceMode("--pid", opts.pid, "private");
  const ipcMode = namespaceMode("--ipc", opts.ipc, "private");
  const utsMode = namespaceMode("--uts", opts.uts, "private");
  const cgroupMode = namespaceMode("--cgroupns", opts.cgroupns, "private");
  if (opts.userns !== "host" && opts.userns !== "remap" && opts.userns !== "") {
    throw new UsageError(
      `invalid value for --userns: ${JSON.stringify(opts.userns)} (expected host or remap)`,
    );
  }
  const remap = opts.userns === "remap";
  if (remap && opts.network === "host") {
    throw new UsageError("--userns remap cannot be combined with --network host");
  }
  if (remap && opts.privileged) {
    throw new UsageError("--privileged cannot be combined with --userns remap");
  }
  if (utsMode === "host" && opts.hostname) {
    throw new UsageError("conflicting options: --hostname and --uts host");
  }
  return { pidMode, ipcMode, utsMode, cgroupMode, remap };
}

/** The user mounts (`--tmpfs`, `-v`), checked: absolute, unique, not over /proc or /sys. */
export function userMounts(opts: Pick<RunOptions, "tmpfs" | "volumes">): Mount[] {
  const mounts = [...opts.tmpfs.map(parseTmpfs), ...opts.volumes.map(parseVolume)];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.destination)) throw new UsageError(`duplicate mount point: ${m.destination}`);
    seen.add(m.destination);
    if (/^\/(proc|sys)(\/|$)/.test(m.destination)) {
      throw new UsageError(
        `invalid mount ${JSON.stringify(m.destination)}: cannot mount over /proc or /sys`,
      );
    }
  }
  return mounts;
}

/** The full spec for `opts`. */
export function buildSpec(opts: RunOptions, ctx: SpecContext): Spec {
  const img = ctx.image;
  let args: string[];
  if (opts.entrypoint !== undefined) {
    args = [...(opts.entrypoint ? [opts.entrypoint] : []), ...opts.command];
  } else {
    args = [...(img.Entrypoint ?? []), ...(opts.command.length ? opts.command : img.Cmd ?? [])];
  }
  if (args.length === 0 || args[0] === "") throw new UsageError("no command specified");
  const user = resolveUser(opts.user ?? img.User ?? "", ctx.passwd, ctx.group);
  const envFromFiles = ctx.envFileTexts.flatMap(parseEnvFile);
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${ctx.hostname}`];
  const env = mergeEnv(
    base,
    img.Env ?? [],
    opts.tty ? ["TERM=xterm"] : [],
    envFromFiles,
    opts.env,
  );
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${user.home || "/"}`);
  const cwd = opts.workdir ?? (img.WorkingDir || "/");
  checkWorkdir(cwd);

  const caps = capabilitySet(opts.capAdd, opts.capDrop, opts.privileged, ctx.boundingSet);
  const { noNewPrivileges: nnp, seccomp } = securityOptions(opts);

  const rlimits: Rlimit[] = [];
  const nofile = ctx.hostLimits["RLIMIT_NOFILE"];
  if (nofile) {
    const hard = nofile[1] < 524288n ? nofile[1] : 524288n;
    rlimits.push({
      type: "RLIMIT_NOFILE",
      soft: Number(hard < 1024n ? hard : 1024n),
      hard: Number(hard),
    });
  }
  for (const u of opts.ulimits) {
    const r = parseUlimit(u, ctx);
    const i = rlimits.findIndex((x) => x.type === r.type);
    if (i >= 0) rlimits.splice(i, 1);
    rlimits.push(r);
  }

  const network = opts.network;
  const { pidMode, ipcMode, utsMode, cgroupMode, remap } = namespaceModes(opts);

  const namespaces: Namespace[] = [{ type: "mount" }];
  if (pidMode === "private") namespaces.push({ type: "pid" });
  if (ipcMode === "private") namespaces.push({ type: "ipc" });
  if (utsMode === "private") namespaces.push({ type: "uts" });
  if (network !== "host") namespaces.push({ type: "network" });
  if (cgroupMode === "private") namespaces.push({ type: "cgroup" });
  if (remap) namespaces.push({ type: "user" });

  const mounts = defaultMounts();
  const roKernel = !opts.privileged;
  for (const m of mounts) {
    if ((m.type === "sysfs" || m.type === "cgroup") && !roKernel) {
      m.options = m.options!.filter((o) => o !== "ro");
    }
  }
  if (ipcMode === "host") {
    const i = mounts.findIndex((m) => m.destination === "/dev/mqueue");
    mounts.splice(i, 1);
  }
  const etc = ctx.etcFiles;
  mounts.push(
    {
      destination: "/etc/resolv.conf",
      type: "bind",
      source: etc.resolvConf,
      options: ["rbind", "rprivate"],
    },
    {
      destination: "/etc/hostname",
      type: "bind",
      source: etc.hostname,
      options: ["rbind", "rprivate"],
    },
    { destination: "/etc/hosts", type: "bind", source: etc.hosts, options: ["rbind", "rprivate"] },
  );
  const user_mounts = userMounts(opts);
  mounts.push(...user_mounts, ...imageVolumes(img, [...mounts, ...user_mounts]));

  const res = containerResources(opts, ctx.resourceHost ?? plainResourceHost());
  const baseDevices = opts.privileged && ctx.hostDevices
    ? ctx.hostDevices() ?? defaultDevices()
    : defaultDevices();
  const devices = [
    ...baseDevices.filter((d) => !res.devices.some((x) => x.path === d.path)),
    ...res.devices,
  ];

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: opts.tty,
      ...(opts.tty && opts.consoleSize ? { consoleSize: opts.consoleSize } : {}),
      user: {
        uid: user.uid,
        gid: user.gid,
        ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}),
      },
      args,
      env,
      cwd,
      capabilities: {
        bounding: caps,
        effective: caps,
        permitted: caps,
        inheritable: [],
        ambient: [],
      },
      rlimits,
      noNewPrivileges: nnp,
    },
    root: { path: "rootfs", readonly: opts.readOnly },
    hostname: utsMode === "private" ? ctx.hostname : "",
    mounts,
    linux: {
      namespaces,
      devices,
      resources: res.resources,
      ...(ctx.cgroupsPath !== undefined ? { cgroupsPath: ctx.cgroupsPath } : {}),
      maskedPaths: opts.privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: opts.privileged ? [] : [...READONLY_PATHS],
      sysctl: parseSysctls(opts.sysctls, { ipc: ipcMode === "private", net: network !== "host" }),
      ...(remap && ctx.remap ? { uidMappings: ctx.remap.uid, gidMappings: ctx.remap.gid } : {}),
      ...(seccomp ? { seccomp: defaultSeccomp(caps) } : {}),
    },
  };
  return spec;
}
