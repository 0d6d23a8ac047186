// `tsbox inspect`: a container as JSON, shaped like Docker's so scripts and
// `--format '{{.State.Status}}'` habits carry over, plus what tsbox adds:
// the cgroup (requested and effective limits) and namespace inode ids.

import { volumesDir } from "./volumes.ts";
import { containerDir } from "../paths.ts";
import { NAMESPACES } from "../runtime/namespaces.ts";
import { containerLeases, type ContainerRecord } from "../state/containers.ts";
import { bindingsOf } from "../net/reservations.ts";
import { networkModeText } from "../spec/config.ts";
import { cgroupInfo } from "./cgroup.ts";
import { reconcile } from "./status.ts";

function namespaceIds(pid: number | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!pid) return out;
  for (const ns of NAMESPACES) {
    try {
      out[ns.oci] = Deno.readLinkSync(`/proc/${pid}/ns/${ns.proc}`);
    } catch { /* gone, or not in this kernel */ }
  }
  return out;
}

function macFor(ip: string): string {
  return ["02", "42", ...ip.split(".").map((b) => Number(b).toString(16).padStart(2, "0"))].join(
    ":",
  );
}

function networkSettings(rec: ContainerRecord): Record<string, unknown> {
  const leases = containerLeases(rec.id);
  const networks: Record<string, unknown> = {};
  for (const l of leases) {
    networks[l.network] = {
      IPAddress: l.address,
      IPPrefixLen: l.subnet ? Number(l.subnet.split("/")[1]) : 0,
      Gateway: l.gateway ?? "",
      MacAddress: macFor(l.address),
    };
  }
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const b of bindingsOf(rec.id)) {
    (ports[`${b.containerPort}/${b.proto}`] ??= []).push({
      HostIp: b.hostIp,
      HostPort: String(b.hostPort),
    });
  }
  const first = leases[0];
  return {
    NetworkMode: networkModeText(rec.config.network.mode),
    IPAddress: first?.address ?? "",
    Gateway: first?.gateway ?? "",
    MacAddress: first ? macFor(first.address) : "",
    Ports: ports,
    Networks: networks,
    SandboxKey: rec.pid ? `/proc/${rec.pid}/ns/net` : "",
  };
}

/** The inspect document of a container. */
export function inspectContainer(r: ContainerRecord): Record<string, unknown> {
  const rec = reconcile(r);
  const spec = rec.spec;
  const proc = spec.process!;
  const cfg = rec.config;
  const dir = containerDir(rec.id);
  const running = rec.status === "running" || rec.status === "paused";
  let cgroup: unknown = null;
  try {
    const info = cgroupInfo(rec);
    const limits = (l: NonNullable<typeof info>["requested"]) => ({
      Memory: l.memory,
      MemorySwap: l.memorySwap,
      PidsLimit: l.pids,
      Cpus: l.cpus,
      CpusetCpus: l.cpusetCpus,
      CpusetMems: l.cpusetMems,
    });
    if (info) {
      cgroup = {
        Path: info.path,
        Parent: info.parent,
        Dirs: info.dirs,
        Requested: limits(info.requested),
        Effective: limits(info.effective),
      };
    }
  } catch { /* cgroups not available */ }
  return {
    Id: rec.id,
    Created: rec.created,
    Path: proc.args[0] ?? "",
    Args: proc.args.slice(1),
    State: {
      Status: rec.status,
      Running: running,
      Paused: rec.status === "paused",
      Restarting: rec.status === "restarting",
      OOMKilled: rec.oomKilled,
      Dead: rec.status === "dead",
      Pid: running ? rec.pid ?? 0 : 0,
      ExitCode: rec.exitCode ?? 0,
      Error: rec.error ?? "",
      StartedAt: rec.startedAt ?? "0001-01-01T00:00:00Z",
      FinishedAt: rec.finishedAt ?? "0001-01-01T00:00:00Z",
    },
    Image: rec.imageId ? `sha256:${rec.imageId}` : "",
    ResolvConfPath: `${dir}/resolv.conf`,
    HostnamePath: `${dir}/hostname`,
    HostsPath: `${dir}/hosts`,
    LogPath: cfg.log.driver === "none" ? "" : `${dir}/container.log`,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: "overlay",
    HostConfig: {
      AutoRemove: cfg.autoRemove,
      NetworkMode: networkModeText(cfg.network.mode),
      PortBindings: cfg.network.publish,
      RestartPolicy: { Name: cfg.restart.name, MaximumRetryCount: cfg.restart.maxRetries },
      Privileged: cfg.request.privileged,
      ReadonlyRootfs: spec.root?.readonly ?? false,
      CapAdd: cfg.request.capAdd,
      CapDrop: cfg.request.capDrop,
      UsernsMode: cfg.request.userns === "remap" ? "remap" : "",
      CgroupParent: cfg.cgroupParent ?? "",
      LogConfig: { Type: cfg.log.driver, Config: cfg.log.opts },
      Resources: spec.linux?.resources ?? {},
      MaskedPaths: spec.linux?.maskedPaths ?? [],
      ReadonlyPaths: spec.linux?.readonlyPaths ?? [],
    },
    GraphDriver: {
      Name: "overlay",
      Data: rec.imageId
        ? { UpperDir: `${dir}/upper`, WorkDir: `${dir}/work` }
        : { RootDir: spec.root?.path },
    },
    Mounts: (spec.mounts ?? []).filter((m) =>
      m.type === "bind" && !m.destination.startsWith("/etc/")
    ).map((m) => {
      const volume = m.source?.startsWith(`${volumesDir()}/`)
        ? m.source.slice(volumesDir().length + 1).split("/")[0]
        : undefined;
      return {
        Type: volume ? "volume" : "bind",
        ...(volume ? { Name: volume, Driver: "local" } : {}),
        Source: m.source,
        Destination: m.destination,
        RW: !(m.options ?? []).includes("ro"),
      };
    }),
    Config: {
      Hostname: spec.hostname ?? "",
      User: proc.user.uid === 0 && proc.user.gid === 0 ? "" : `${proc.user.uid}:${proc.user.gid}`,
      Tty: proc.terminal ?? false,
      OpenStdin: cfg.openStdin,
      Env: proc.env ?? [],
      Cmd: proc.args,
      Image: rec.image,
      WorkingDir: proc.cwd,
      Labels: cfg.labels,
    },
    NetworkSettings: networkSettings(rec),
    Cgroup: cgroup,
    Namespaces: namespaceIds(running ? rec.pid : null),
    Spec: spec,
  };
}
