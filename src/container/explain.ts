// `tsbox explain CONTAINER` and the isolation part of the container page of
// `tsbox ui`: what the kernel says about a running container, read now from
// /proc/PID (namespaces, id maps, capabilities, seccomp, cgroup, mounts), the
// cgroup files of each level of its group chain, and the network topology
// (netlink, nftables, conntrack: src/net/topology.ts). The records add only
// what was asked for (requested limits), next to what is in effect.
// explain_model.ts holds the parsers and the wording. Requires root.

import { readKernelLimits } from "../cgroups/limits.ts";
import type { KernelLimits } from "../cgroups/limits.ts";
import { parseProcCgroup } from "../cgroups/proc.ts";
import { pathPrefixes } from "../cgroups/driver.ts";
import { readTopology } from "../net/topology.ts";
import type {
  TopoBridge,
  TopoContainer,
  Topology,
  TopoPort,
  TopoTranslation,
} from "../net/topology_model.ts";
import { NAMESPACES } from "../runtime/namespaces.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { cgroupHost, cgroupInfo, DEFAULT_PARENT } from "./cgroup.ts";
import { groupInfo, type LimitSummary } from "./groups.ts";
import {
  bytes,
  type Fact,
  missingCaps,
  type MountSummary,
  type NamespaceFact,
  namespaceSentence,
  parseMountinfo,
  parseStatus,
  seccompSentence,
  shortCaps,
  summarizeMounts,
} from "./explain_model.ts";
import { capNames } from "../runtime/capabilities.ts";

/** One level of the container's cgroup chain. */
export interface CgroupLevel {
  /** "tsbox", "tsbox/web", "tsbox/web/<id>". */
  path: string;
  /** What tsbox asked of this level (records); undefined for tsbox/ itself. */
  requested?: LimitSummary;
  /** What its files say now. */
  kernel: KernelLimits;
}

/** Everything `explain` knows of a running container. */
export interface Explanation {
  id: string;
  name: string;
  status: string;
  pid: number | null;
  namespaces: NamespaceFact[];
  uidMap: string[];
  gidMap: string[];
  capabilities?: { effective: string[]; bounding: string[]; dropped: string[]; ambient: string[] };
  seccomp?: { mode: number; filters: number; noNewPrivs: boolean };
  cgroup?: { path: string; procPath: string; levels: CgroupLevel[]; effective?: LimitSummary };
  mounts?: MountSummary;
  network?: {
    container?: TopoContainer;
    bridge?: TopoBridge;
    ports: TopoPort[];
    translations: TopoTranslation[];
  };
  /** The plain-language account, line by line, each with its source. */
  facts: Fact[];
}

function read(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

function link(path: string): string | undefined {
  try {
    return Deno.readLinkSync(path);
  } catch {
    return undefined;
  }
}

/** Namespaces of `pid`, each compared with ours and with the other containers'. */
function namespaces(pid: number, others: readonly ContainerRecord[]): NamespaceFact[] {
  const out: NamespaceFact[] = [];
  for (const ns of NAMESPACES) {
    const source = `/proc/${pid}/ns/${ns.proc}`;
    const l = link(source);
    if (!l) continue;
    let sharedWith = "own";
    if (l === link(`/proc/self/ns/${ns.proc}`)) sharedWith = "host";
    else {
      const o = others.find((c) =>
        c.pid && c.pid !== pid && link(`/proc/${c.pid}/ns/${ns.proc}`) === l
      );
      if (o) sharedWith = `container ${o.name}`;
    }
    out.push({
      type: ns.oci,
      link: l,
      inode: Number(/\[(\d+)\]/.exec(l)?.[1] ?? 0),
      sharedWith,
      source,
    });
  }
  return out;
}

const lim = (n: number | null | undefined, f: (x: number) => string) =>
  n === null || n === undefined ? "no limit" : f(n);

function cgroupPart(rec: ContainerRecord, pid: number, facts: Fact[]): Explanation["cgroup"] {
  const procFile = `/proc/${pid}/cgroup`;
  const entries = parseProcCgroup(read(procFile) ?? "");
  const procPath = (entries.find((e) => e.controllers.includes("memory")) ?? entries[0])?.path ??
    "";
  const info = cgroupInfo(rec);
  if (!info) return undefined;
  const { layout } = cgroupHost();
  const levels: CgroupLevel[] = pathPrefixes(info.path).map((p) => {
    let requested: LimitSummary | undefined;
    if (p === info.path) requested = info.requested;
    else if (p !== DEFAULT_PARENT) {
      try {
        requested = groupInfo(p.slice(DEFAULT_PARENT.length + 1)).requested;
      } catch { /* not a tsbox group */ }
    }
    return { path: p, ...(requested ? { requested } : {}), kernel: readKernelLimits(layout, p) };
  });
  facts.push({
    topic: "cgroup",
    text: `its processes are in cgroup ${procPath || info.path}`,
    source: procFile,
  });
  for (const l of levels) {
    const k = l.kernel;
    const parts = [
      k.memory ? `memory ${lim(k.memory.value, bytes)}` : "",
      k.pids ? `pids ${lim(k.pids.value, String)}` : "",
      k.cpus ? `cpu ${lim(k.cpus.value, (c) => `${+c.toFixed(2)} CPUs`)}` : "",
    ].filter(Boolean);
    const src = k.memory?.file ?? k.pids?.file ?? k.cpus?.file ?? l.path;
    facts.push({
      topic: "cgroup",
      text: `level ${l.path}: ${parts.join(", ") || "no limit files"}`,
      source: src.replace(/\/[^/]+$/, "/"),
    });
  }
  const e = info.effective;
  facts.push({
    topic: "cgroup",
    text: `in effect (tightest along the chain): memory ${lim(e.memory, bytes)}, pids ${
      lim(e.pids, String)
    }, cpu ${lim(e.cpus, (c) => `${c} CPUs`)}`,
    source: "the limit files above",
  });
  return { path: info.path, procPath, levels, effective: info.effective };
}

function networkPart(
  rec: ContainerRecord,
  topo: Topology,
  facts: Fact[],
): NonNullable<Explanation["network"]> {
  const c = topo.containers.find((x) => x.id === rec.id);
  const bridge = c?.bridge ? topo.bridges.find((b) => b.name === c.bridge) : undefined;
  const mine = (ip: string) =>
    c?.links.some((l) => l.addresses.some((a) => a.startsWith(`${ip}/`)));
  const ports = topo.ports.filter((p) => mine(p.containerIp));
  const translations = topo.translations.filter((t) => mine(t.container.split(":")[0]!));
  if (!c) {
    facts.push({
      topic: "network",
      text: "no network namespace of its own with a veth (network none or host)",
      source: `/proc/${rec.pid}/ns/net`,
    });
  } else {
    for (const l of c.links) {
      facts.push({
        topic: "network",
        text: `${l.name} ${l.addresses.join(", ") || "without address"} ${l.mac ?? ""}`.trimEnd(),
        source: `RTM_GETLINK ${l.name} ifindex ${l.index} in net:[${c.netns.inode}]`,
      });
    }
    if (c.veth) {
      facts.push({
        topic: "network",
        text: `its eth0 is one end of a veth pair; the other end, ${c.veth}, is a port of bridge ${
          c.bridge ?? "(none)"
        } in the host namespace`,
        source: `RTM_GETLINK ${c.veth} (IFLA_LINK, IFLA_MASTER) in net:[${topo.netns.inode}]`,
      });
    }
    if (bridge) {
      facts.push({
        topic: "network",
        text: `bridge ${bridge.name} has ${bridge.addresses.join(", ")} (the gateway) on subnet ${
          bridge.subnet ?? "?"
        }`,
        source: `RTM_GETADDR ${bridge.name}`,
      });
      if (bridge.masquerade) {
        facts.push({
          topic: "network",
          text:
            `outbound connections leaving the subnet are masqueraded (NAPT): source rewritten to the host's address and a port`,
          source:
            `nft ip tsbox chain postrouting handle ${bridge.masquerade.handle} (${bridge.masquerade.comment})`,
        });
      }
      const apart = topo.isolated.filter(([a, b]) => a === bridge.name || b === bridge.name);
      if (apart.length) {
        facts.push({
          topic: "network",
          text: `isolated from ${
            apart.map(([a, b]) => (a === bridge.name ? b : a)).join(", ")
          }: forwarded packets between tsbox bridges are dropped`,
          source: `nft ip tsbox chain forward handle ${
            bridge.isolation.map((i) => i.handle).join(",")
          }`,
        });
      }
    }
  }
  for (const p of ports) {
    facts.push({
      topic: "network",
      text:
        `published: ${p.hostIp}:${p.hostPort}/${p.proto} is DNATed to ${p.containerIp}:${p.containerPort}`,
      source: `nft ip tsbox chain ports handle ${p.rule.handle}`,
    });
  }
  for (const t of translations) {
    facts.push({
      topic: "network",
      text: t.kind === "snat"
        ? `live NAPT: ${t.container} leaves as ${t.host} towards ${t.peer}`
        : `live DNAT: ${t.peer} reached ${t.host}, rewritten to ${t.container}`,
      source: `conntrack ${t.proto} id ${
        t.id ?? "?"
      } (orig ${t.orig.src} -> ${t.orig.dst}, reply ${t.reply.src} -> ${t.reply.dst})`,
    });
  }
  return {
    ...(c ? { container: c } : {}),
    ...(bridge ? { bridge } : {}),
    ports,
    translations,
  };
}

/**
 * Explains container `rec` (reconciled; running or paused for most facts).
 * `others` are the other running containers (for shared namespaces); `topo`
 * a topology read now (readTopology), or undefined to read one.
 */
export function explainContainer(
  rec: ContainerRecord,
  others: readonly ContainerRecord[],
  topo?: Topology,
): Explanation {
  const facts: Fact[] = [];
  const running = (rec.status === "running" || rec.status === "paused") && rec.pid !== null;
  const ex: Explanation = {
    id: rec.id,
    name: rec.name,
    status: rec.status,
    pid: running ? rec.pid : null,
    namespaces: [],
    uidMap: [],
    gidMap: [],
    facts,
  };
  if (!running) {
    facts.push({
      topic: "state",
      text:
        `${rec.name} is ${rec.status}: it has no processes, so the kernel holds no isolation for it now`,
      source: "tsbox state (containers table)",
    });
    return ex;
  }
  const pid = rec.pid!;
  ex.namespaces = namespaces(pid, others);
  for (const n of ex.namespaces) {
    facts.push({ topic: "namespaces", text: namespaceSentence(n), source: n.source });
  }
  const maps = (f: string) =>
    (read(f) ?? "").split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter(Boolean);
  ex.uidMap = maps(`/proc/${pid}/uid_map`);
  ex.gidMap = maps(`/proc/${pid}/gid_map`);
  const identity = ex.uidMap.length === 1 && /^0 0 4294967295$/.test(ex.uidMap[0]!);
  facts.push({
    topic: "users",
    text: identity
      ? "uid 0 inside is uid 0 outside (no user namespace remapping)"
      : `uids map inside -> outside (count): ${ex.uidMap.join("; ")}`,
    source: `/proc/${pid}/uid_map`,
  });
  const statusFile = `/proc/${pid}/status`;
  const st = read(statusFile);
  if (st) {
    const s = parseStatus(st);
    ex.capabilities = {
      effective: capNames(s.capEff),
      bounding: capNames(s.capBnd),
      dropped: missingCaps(s.capBnd),
      ambient: capNames(s.capAmb),
    };
    ex.seccomp = { mode: s.seccomp, filters: s.seccompFilters, noNewPrivs: s.noNewPrivs };
    facts.push({
      topic: "capabilities",
      text: `keeps ${ex.capabilities.effective.length} capabilities: ${
        shortCaps(s.capEff).join(" ") || "none"
      }`,
      source: `${statusFile} CapEff`,
    });
    facts.push({
      topic: "capabilities",
      text: `dropped from the bounding set (never regained, even by setuid programs): ${
        ex.capabilities.dropped.map((c) => c.replace(/^CAP_/, "")).join(" ") || "none"
      }`,
      source: `${statusFile} CapBnd`,
    });
    facts.push({ topic: "seccomp", text: seccompSentence(s), source: `${statusFile} Seccomp` });
  }
  try {
    const cg = cgroupPart(rec, pid, facts);
    if (cg) ex.cgroup = cg;
  } catch (e) {
    facts.push({ topic: "cgroup", text: `could not read: ${e}`, source: `/proc/${pid}/cgroup` });
  }
  const mi = read(`/proc/${pid}/mountinfo`);
  if (mi) {
    const m = summarizeMounts(parseMountinfo(mi), rec.spec.linux ?? {});
    ex.mounts = m;
    const src = `/proc/${pid}/mountinfo`;
    if (m.root) {
      facts.push({
        topic: "mounts",
        text: m.root.fstype === "overlay"
          ? `root is an overlay: ${m.root.layers.lower.length} read-only layer(s) ${
            m.root.layers.lower.join(":")
          }, writes go to ${m.root.layers.upper ?? "?"}`
          : `root is ${m.root.fstype} ${m.root.source}`,
        source: src,
      });
    }
    for (const b of m.binds) {
      facts.push({
        topic: "mounts",
        text: `bind ${b.root} on ${b.mountPoint} (${b.options})`,
        source: src,
      });
    }
    for (const t of m.tmpfs) {
      facts.push({ topic: "mounts", text: `tmpfs on ${t.mountPoint} (${t.options})`, source: src });
    }
    if (m.masked.length) {
      facts.push({ topic: "mounts", text: `masked (hidden): ${m.masked.join(" ")}`, source: src });
    }
    if (m.readonly.length) {
      facts.push({ topic: "mounts", text: `read-only: ${m.readonly.join(" ")}`, source: src });
    }
  }
  try {
    ex.network = networkPart(rec, topo ?? readTopology([rec, ...others]), facts);
  } catch (e) {
    facts.push({ topic: "network", text: `could not read: ${e}`, source: "netlink" });
  }
  return ex;
}
