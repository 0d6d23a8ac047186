// The JSON documents of `tsbox ui`, built from the engine and the layers
// that own each kernel interface (no kernel calls and no SQL here): the
// containers table, a container's page, the network topology, the cgroup
// tree, images and networks. Each function is one document.

import { allContainers, isLive, liveContainers } from "../container/overview.ts";
import { type CgroupNode, cgroupTree } from "../container/cgroup_tree.ts";
import { explainContainer, type Explanation } from "../container/explain.ts";
import { inspectContainer } from "../container/inspect.ts";
import { containerProcesses, type ProcessRow } from "../container/top.ts";
import { loadTrace, type SavedTrace } from "../container/trace_file.ts";
import { listImages } from "../image/store.ts";
import { formatSubnet } from "../net/addr.ts";
import { listNetworks, networkInUse } from "../net/network.ts";
import { formatPortsColumn } from "../net/ports.ts";
import { bindingsOf } from "../net/reservations.ts";
import { readTopology, type Topology } from "../net/topology.ts";
import type { ContainerRecord } from "../state/containers.ts";
import { findContainer } from "../state/containers.ts";
import { reconcile } from "../container/status.ts";
import { commandText, statusText } from "../cli/docker/ps.ts";
import { renderSvg } from "./diagram/svg.ts";

/** One row of the containers table (as `ps -a` shows it). */
export interface ContainerRow {
  id: string;
  name: string;
  image: string;
  command: string;
  created: string;
  /** "running", "exited", ... */
  state: string;
  /** "Up 5 minutes", "Exited (0) 2 seconds ago". */
  status: string;
  ports: string;
  pid: number | null;
  /** Started with --trace at least once (a waterfall exists). */
  traced: boolean;
}

/** A row of the table from a (reconciled) record. */
export function rowOf(c: ContainerRecord): ContainerRow {
  return {
    id: c.id,
    name: c.name,
    image: c.image,
    command: commandText(c),
    created: c.created,
    state: c.status,
    status: statusText(c),
    ports: formatPortsColumn(bindingsOf(c.id)),
    pid: isLive(c) ? c.pid : null,
    traced: false,
  };
}

/** The containers table, newest first. */
export function containerRows(all: readonly ContainerRecord[] = allContainers()): ContainerRow[] {
  return all.map(rowOf);
}

/** The container page: inspect document, isolation facts, last trace. */
export function containerPage(ref: string): {
  row: ContainerRow;
  inspect: Record<string, unknown>;
  explain: Explanation;
  trace?: SavedTrace;
} {
  const rec = reconcile(findContainer(ref));
  const others = liveContainers().filter((c) => c.id !== rec.id);
  const trace = loadTrace(rec.id);
  return {
    row: { ...rowOf(rec), traced: trace !== undefined },
    inspect: inspectContainer(rec),
    explain: explainContainer(rec, others),
    ...(trace ? { trace } : {}),
  };
}

/** The processes of a running container (`top`). */
export function containerTop(ref: string): ProcessRow[] {
  const rec = reconcile(findContainer(ref));
  if (!isLive(rec)) return [];
  return containerProcesses(rec);
}

/** The network topology read now, and its drawing. */
export function networkDiagram(network?: string): { topology: Topology; svg: string } {
  const topology = readTopology(liveContainers(), network);
  return { topology, svg: renderSvg(topology, { style: false }) };
}

/** The cgroup tree under tsbox's parent. */
export function cgroups(): CgroupNode {
  return cgroupTree(liveContainers());
}

/** The images, with every field the store records (layers, once images have them). */
export function images(): Record<string, unknown>[] {
  return listImages().map((i) => {
    const { config, legacyRootfs: _legacy, ...rest } = i; // img: the layers are listed
    return { ...rest, config };
  });
}

/** The networks, with their subnet and whether a container uses them. */
export function networks(): Record<string, unknown>[] {
  return listNetworks().map((n) => ({
    name: n.name,
    id: n.id,
    driver: n.driver,
    bridge: n.bridge,
    subnet: formatSubnet(n.subnet),
    gateway: n.gateway,
    created: n.created,
    inUse: networkInUse(n.name),
  }));
}
