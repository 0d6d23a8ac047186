// How a container is isolated, as facts and plain sentences (pure: parsers
// of /proc text and the wording; explain.ts reads the files). Every line
// names the kernel file or netlink object it came from, so a reader can
// check it by hand:
//
//   Namespaces    /proc/PID/ns/*        (inode per type; compared with ours and other containers')
//   Users         /proc/PID/uid_map, gid_map
//   Capabilities  /proc/PID/status      CapEff, CapBnd (hex masks, capabilities(7))
//   Seccomp       /proc/PID/status      Seccomp, Seccomp_filters, NoNewPrivs
//   cgroups       /proc/PID/cgroup and the limit files of each level (src/cgroups/limits.ts)
//   Mounts        /proc/PID/mountinfo   (overlay lowerdir/upperdir, binds, tmpfs, masks)
//   Network       netlink dumps and nftables/conntrack (src/net/topology.ts)
// See proc(5), namespaces(7), user_namespaces(7), capabilities(7), seccomp(2).

import { CAPABILITIES, capNames } from "../runtime/capabilities.ts";

/** One statement and where it came from. */
export interface Fact {
  /** The section: "namespaces", "users", "capabilities", "seccomp", "cgroup", "mounts", "network". */
  topic: string;
  text: string;
  /** The kernel file or netlink object, e.g. "/proc/1234/ns/net", "nft ip tsbox ports handle 7". */
  source: string;
}

/** A namespace of the container and who else is in it. */
export interface NamespaceFact {
  type: string;
  /** "net:[4026532912]" */
  link: string;
  inode: number;
  /** "own", "host" (the namespace tsbox runs in), or "container NAME". */
  sharedWith: string;
  source: string;
}

/** Capability and seccomp lines of /proc/PID/status. */
export interface ProcStatus {
  capEff: bigint;
  capPrm: bigint;
  capBnd: bigint;
  capAmb: bigint;
  noNewPrivs: boolean;
  /** 0 disabled, 1 strict, 2 filter. */
  seccomp: number;
  seccompFilters: number;
  uid: string;
  gid: string;
}

/** Parses the fields of /proc/PID/status that explain uses. */
export function parseStatus(text: string): ProcStatus {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
  const hex = (name: string) => BigInt(`0x${field(name) ?? "0"}`);
  return {
    capEff: hex("CapEff"),
    capPrm: hex("CapPrm"),
    capBnd: hex("CapBnd"),
    capAmb: hex("CapAmb"),
    noNewPrivs: field("NoNewPrivs") === "1",
    seccomp: Number(field("Seccomp") ?? 0),
    seccompFilters: Number(field("Seccomp_filters") ?? 0),
    uid: field("Uid") ?? "",
    gid: field("Gid") ?? "",
  };
}

/** The names of the capabilities not in `mask` (among those this table knows). */
export function missingCaps(mask: bigint, lastCap = CAPABILITIES.length - 1): string[] {
  return CAPABILITIES.slice(0, lastCap + 1).filter((_, i) => (mask & (1n << BigInt(i))) === 0n);
}

/** One line of /proc/PID/mountinfo (proc(5)). */
export interface MountEntry {
  mountPoint: string;
  root: string;
  fstype: string;
  source: string;
  options: string;
  superOptions: string;
}

/** Octal escapes of mountinfo ("\040" is a space). */
const unescape = (s: string) =>
  s.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));

/** Parses /proc/PID/mountinfo text. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const l = left.split(" "), r = right.split(" ");
    out.push({
      root: unescape(l[3] ?? ""),
      mountPoint: unescape(l[4] ?? ""),
      options: l[5] ?? "",
      fstype: r[0] ?? "",
      source: unescape(r[1] ?? ""),
      superOptions: r[2] ?? "",
    });
  }
  return out;
}

/** The overlay's layers from its super options ("lowerdir=a:b,upperdir=u,workdir=w"). */
export function overlayLayers(superOptions: string): {
  lower: string[];
  upper?: string;
  work?: string;
} {
  const opt = (k: string) => new RegExp(`(?:^|,)${k}=([^,]*)`).exec(superOptions)?.[1];
  const lower = (opt("lowerdir") ?? "").split(":").filter(Boolean).map(unescape);
  const upper = opt("upperdir"), work = opt("workdir");
  return {
    lower,
    ...(upper ? { upper: unescape(upper) } : {}),
    ...(work ? { work: unescape(work) } : {}),
  };
}

/** What the container's mounts are, by kind. */
export interface MountSummary {
  root?: MountEntry & { layers: ReturnType<typeof overlayLayers> };
  binds: MountEntry[];
  tmpfs: MountEntry[];
  /** Masked paths (spec.linux.maskedPaths) found mounted over. */
  masked: string[];
  /** Read-only paths (spec.linux.readonlyPaths) mounted read-only. */
  readonly: string[];
  all: MountEntry[];
}

/** Sorts the container's mounts into root, binds, tmpfs and masks. */
export function summarizeMounts(
  entries: readonly MountEntry[],
  spec: { maskedPaths?: string[]; readonlyPaths?: string[] },
): MountSummary {
  const root = entries.find((e) => e.mountPoint === "/");
  const at = new Set(entries.map((e) => e.mountPoint));
  const masked = (spec.maskedPaths ?? []).filter((p) => at.has(p));
  const ro = (spec.readonlyPaths ?? []).filter((p) =>
    entries.some((e) => e.mountPoint === p && e.options.split(",").includes("ro"))
  );
  const special = new Set([...masked, ...ro]);
  return {
    ...(root ? { root: { ...root, layers: overlayLayers(root.superOptions) } } : {}),
    // A bind shows as a mount whose root is not "/" or whose source is a real device/fs path.
    binds: entries.filter((e) =>
      e.mountPoint !== "/" && !special.has(e.mountPoint) &&
      !["proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "overlay"].includes(
        e.fstype,
      ) && e.root !== "/"
    ),
    tmpfs: entries.filter((e) => e.fstype === "tmpfs" && !special.has(e.mountPoint)),
    masked,
    readonly: ro,
    all: [...entries],
  };
}

/** Human bytes, binary units ("64MiB"). */
export function bytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0, v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${u[i]}`;
}

/** Capability names of a mask, without the CAP_ prefix, for short sentences. */
export function shortCaps(mask: bigint): string[] {
  return capNames(mask).map((c) => c.replace(/^CAP_/, ""));
}

/** The sentence about one namespace. */
export function namespaceSentence(n: NamespaceFact): string {
  const what: Record<string, string> = {
    user: "user and group ids",
    cgroup: "view of the cgroup tree",
    ipc: "System V IPC and POSIX message queues",
    uts: "hostname",
    network: "network devices, addresses, routes and ports",
    pid: "process ids",
    time: "boot and monotonic clocks",
    mount: "mount table",
  };
  const whose = n.sharedWith === "own"
    ? "its own"
    : n.sharedWith === "host"
    ? "the host's (shared, not isolated)"
    : `shared with ${n.sharedWith}`;
  return `${n.type} namespace ${n.link}: ${whose} ${what[n.type] ?? ""}`.trimEnd();
}

/** The sentence about seccomp. */
export function seccompSentence(s: ProcStatus): string {
  const mode = ["disabled", "strict", "filter"][s.seccomp] ?? String(s.seccomp);
  return s.seccomp === 2
    ? `seccomp mode 2 (filter): ${s.seccompFilters} BPF filter(s) decide each system call; no_new_privs ${
      s.noNewPrivs ? "on" : "off"
    }`
    : `seccomp ${mode}: every system call is allowed; no_new_privs ${s.noNewPrivs ? "on" : "off"}`;
}
