// Container records in the state database: ids, unique names, status and the
// resources each container owns. A record is written before any kernel
// object is made, and every object is recorded (resources table) before it
// is created, so teardown can always find and undo it.

import type { ContainerConfig } from "../spec/config.ts";
import type { Spec } from "../spec/types.ts";
import { NotFoundError, TsboxError, UsageError } from "../errors.ts";
import { now, state } from "./db.ts";

/** Lifecycle states, as Docker names them. */
export type Status =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "exited"
  | "dead"
  | "removing";

/** One container as recorded. */
export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: string | null;
  status: Status;
  pid: number | null;
  /** Start time of `pid` (field 22 of /proc/PID/stat), to tell a reused pid apart. */
  pidStart: string | null;
  /** The boot the pid belongs to (/proc/sys/kernel/random/boot_id). */
  bootId: string | null;
  exitCode: number | null;
  oomKilled: boolean;
  error: string | null;
  created: string;
  startedAt: string | null;
  finishedAt: string | null;
  restartCount: number;
  /** A user stopped it: restart policies leave it stopped. */
  stopRequested: boolean;
  /** Its configuration: the OCI spec and what tsbox manages around it. */
  config: ContainerConfig;
  /** `config.spec`. */
  spec: Spec;
}

interface Row {
  id: string;
  name: string;
  image: string;
  image_id: string | null;
  status: Status;
  pid: number | null;
  pid_start: string | null;
  boot_id: string | null;
  exit_code: number | null;
  oom_killed: number;
  error: string | null;
  created: string;
  started_at: string | null;
  finished_at: string | null;
  restart_count: number;
  stop_requested: number;
  config: string;
}

function fromRow(r: Row): ContainerRecord {
  const config = JSON.parse(r.config) as ContainerConfig;
  return {
    id: r.id,
    name: r.name,
    image: r.image,
    imageId: r.image_id,
    status: r.status,
    pid: r.pid,
    pidStart: r.pid_start,
    bootId: r.boot_id,
    exitCode: r.exit_code,
    oomKilled: r.oom_killed === 1,
    error: r.error,
    created: r.created,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    restartCount: r.restart_count,
    stopRequested: r.stop_requested === 1,
    config,
    spec: config.spec,
  };
}

/** A new random container id (64 hex digits, like Docker's). */
export function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

const ADJECTIVES = [
  "agile",
  "bold",
  "brave",
  "bright",
  "calm",
  "clever",
  "cosmic",
  "crisp",
  "daring",
  "eager",
  "fancy",
  "gentle",
  "happy",
  "jolly",
  "keen",
  "kind",
  "lucid",
  "merry",
  "nimble",
  "quiet",
  "quick",
  "sharp",
  "sunny",
  "swift",
  "tender",
  "vivid",
  "witty",
  "zen",
];
const NAMES = [
  "babbage",
  "bell",
  "curie",
  "darwin",
  "dijkstra",
  "einstein",
  "euler",
  "fermi",
  "gauss",
  "hopper",
  "kepler",
  "knuth",
  "lamport",
  "liskov",
  "lovelace",
  "maxwell",
  "newton",
  "noether",
  "pascal",
  "ritchie",
  "shannon",
  "thompson",
  "torvalds",
  "turing",
  "wozniak",
];

/** A random name such as "brave_turing". */
export function randomName(): string {
  const pick = (a: string[]) => a[Math.floor(Math.random() * a.length)]!;
  return `${pick(ADJECTIVES)}_${pick(NAMES)}`;
}

/** Valid container names, as Docker's: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
export function checkName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    throw new UsageError(
      `invalid container name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
}

/** Inserts a new record in state "created"; fails if the name is taken. */
export function insertContainer(
  rec: Pick<ContainerRecord, "id" | "image" | "imageId" | "config"> & { name?: string },
): ContainerRecord {
  const st = state();
  return st.tx(() => {
    let name = rec.name;
    if (name !== undefined) {
      checkName(name);
      const other = st.get<{ id: string }>("SELECT id FROM containers WHERE name = ?", name);
      if (other) {
        throw new TsboxError(
          `the container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name`,
          { exitCode: 125 },
        );
      }
    } else {
      do name = randomName(); while (st.get("SELECT 1 FROM containers WHERE name = ?", name));
    }
    st.run(
      `INSERT INTO containers (id, name, image, image_id, status, created, config) VALUES (?, ?, ?, ?, 'created', ?, ?)`,
      rec.id,
      name,
      rec.image,
      rec.imageId,
      now(),
      JSON.stringify(rec.config),
    );
    return getContainer(rec.id)!;
  });
}

/** The record with exactly this id, or undefined. */
export function getContainer(id: string): ContainerRecord | undefined {
  const r = state().get<Row>("SELECT * FROM containers WHERE id = ?", id);
  return r ? fromRow(r) : undefined;
}

/**
 * Finds a container by name or id, either of which may be abbreviated to a
 * unique prefix. Throws NotFoundError or an "ambiguous" UsageError.
 */
export function findContainer(ref: string): ContainerRecord {
  const st = state();
  const key = ref.replace(/^\//, "");
  const exact = st.get<Row>("SELECT * FROM containers WHERE name = ? OR id = ?", key, key);
  if (exact) return fromRow(exact);
  const like = `${key.replaceAll("%", "\\%").replaceAll("_", "\\_")}%`;
  const rows = st.all<Row>(
    "SELECT * FROM containers WHERE id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\'",
    like,
    like,
  );
  if (rows.length === 1) return fromRow(rows[0]!);
  if (rows.length > 1) {
    throw new UsageError(
      `multiple containers match ${JSON.stringify(ref)}: ${rows.map((r) => r.name).join(", ")}`,
      { exitCode: 1 },
    );
  }
  throw new NotFoundError(`no such container: ${ref}`, { exitCode: 1 });
}

/** Every container, newest first. */
export function listContainers(): ContainerRecord[] {
  return state().all<Row>("SELECT * FROM containers ORDER BY created DESC, rowid DESC").map(
    fromRow,
  );
}

/** Fields that change over a container's life. */
export type ContainerUpdate = Partial<
  Pick<
    ContainerRecord,
    | "status"
    | "pid"
    | "pidStart"
    | "bootId"
    | "exitCode"
    | "oomKilled"
    | "error"
    | "startedAt"
    | "finishedAt"
    | "restartCount"
    | "stopRequested"
    | "name"
  >
>;

const COLUMNS: Record<keyof ContainerUpdate, string> = {
  status: "status",
  pid: "pid",
  pidStart: "pid_start",
  bootId: "boot_id",
  exitCode: "exit_code",
  oomKilled: "oom_killed",
  error: "error",
  startedAt: "started_at",
  finishedAt: "finished_at",
  restartCount: "restart_count",
  stopRequested: "stop_requested",
  name: "name",
};

/** Updates a record. */
export function updateContainer(id: string, u: ContainerUpdate): void {
  const keys = Object.keys(u) as (keyof ContainerUpdate)[];
  if (!keys.length) return;
  const values = keys.map((k) => {
    const v = u[k];
    if (typeof v === "boolean") return v ? 1 : 0;
    return (v ?? null) as string | number | null;
  });
  state().run(
    `UPDATE containers SET ${keys.map((k) => `${COLUMNS[k]} = ?`).join(", ")} WHERE id = ?`,
    ...values,
    id,
  );
}

/** Deletes a record and its resource rows. */
export function deleteContainer(id: string): void {
  state().tx(() => {
    state().run("DELETE FROM resources WHERE container_id = ?", id);
    state().run("DELETE FROM leases WHERE container_id = ?", id);
    state().run("DELETE FROM containers WHERE id = ?", id);
  });
}

/** One kernel object a container owns. */
export interface Resource {
  kind: string;
  key: string;
  data: Record<string, unknown>;
}

/** Records a resource (before creating it). */
export function addResource(
  id: string,
  kind: string,
  key: string,
  data: Record<string, unknown> = {},
): void {
  state().run(
    "INSERT OR REPLACE INTO resources (container_id, kind, key, data) VALUES (?, ?, ?, ?)",
    id,
    kind,
    key,
    JSON.stringify(data),
  );
}

/** The resources of a container, in the order recorded. */
export function listResources(id: string): Resource[] {
  return state().all<{ kind: string; key: string; data: string }>(
    "SELECT kind, key, data FROM resources WHERE container_id = ? ORDER BY rowid",
    id,
  ).map((r) => ({ kind: r.kind, key: r.key, data: JSON.parse(r.data ?? "{}") }));
}

/** Forgets a resource (after undoing it). */
export function removeResource(id: string, kind: string, key: string): void {
  state().run(
    "DELETE FROM resources WHERE container_id = ? AND kind = ? AND key = ?",
    id,
    kind,
    key,
  );
}

/** One address a container holds, with its network's gateway and subnet. */
export interface ContainerLease {
  network: string;
  address: string;
  gateway: string | null;
  subnet: string | null;
}

/** The addresses `id` holds, oldest first. */
export function containerLeases(id: string): ContainerLease[] {
  return state().all<ContainerLease>(
    `SELECT leases.network, leases.address, networks.gateway, networks.subnet FROM leases
     LEFT JOIN networks ON networks.name = leases.network WHERE leases.container_id = ?
     ORDER BY leases.rowid`,
    id,
  );
}

/**
 * Renames a container; fails if another one has the name. Runs `after` in
 * the same transaction (an event).
 */
export function renameContainerRecord(id: string, name: string, after: () => void): void {
  checkName(name);
  const st = state();
  st.tx(() => {
    const other = st.get<{ id: string }>(
      "SELECT id FROM containers WHERE name = ? AND id != ?",
      name,
      id,
    );
    if (other) {
      throw new TsboxError(
        `the container name "/${name}" is already in use by container "${other.id}"`,
        { exitCode: 1 },
      );
    }
    updateContainer(id, { name });
    after();
  });
}

/**
 * Applies `update` only if the record is still in `status` with `pid`
 * (another tsbox process may have recorded the exit meanwhile). Returns
 * whether it did.
 */
export function updateContainerIf(
  id: string,
  expect: Pick<ContainerRecord, "status" | "pid">,
  update: ContainerUpdate,
): boolean {
  return state().tx(() => {
    const cur = getContainer(id);
    if (!cur || cur.status !== expect.status || cur.pid !== expect.pid) return false;
    updateContainer(id, update);
    return true;
  });
}
