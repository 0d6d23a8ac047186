// The OCI runtime's store: one directory per container under the global
// --root of tsbox-runc (default /run/tsbox-runc), as runc keeps /run/runc.
// A file store, not the state database: containerd and Podman call the
// runtime once per verb, and each call reads one small file.
//
//
//   <root>/<id>/state.json   what `create` recorded (OciRecord below)
//   <root>/<id>/exec.fifo    exists from `create` until `start` (the init waits on it)
//   <root>/<id>/rootfs/      empty on the host: the root is mounted there in a
//                            private staging mount namespace only
//   <root>/<id>/lock         flock(2)ed by every verb that changes the container
//
// The status is not stored but observed (status.ts): the init's pid (checked
// against its start time, so a reused pid does not count), the fifo, the
// freezer.

import { NotFoundError, TsboxError, UsageError } from "../../errors.ts";
import type { Spec } from "../../spec/types.ts";
import type { ociStatus } from "../state_machine.ts";

/** What every OCI engine call gets from the front end: where the store is, where to log. */
export interface OciContext {
  /** State directory (tsbox-runc --root). */
  root: string;
  /** Writes a debug or warning line to the runtime's log (--log); never throws. */
  log: (level: "debug" | "warning", msg: string) => void;
}

/** What `create` records. */
export interface OciRecord {
  id: string;
  /** Absolute path of the bundle. */
  bundle: string;
  /** The init's host pid (0 until it exists). */
  pid: number;
  /** Field 22 of /proc/PID/stat (start time in clock ticks), to tell a reused pid. */
  pidStart: string;
  /** RFC 3339 creation time. */
  created: string;
  /** cgroup path relative to the hierarchy roots. */
  cgroupPath: string;
  /** The config.json the container was created from. */
  config: Spec;
}

/** runc's container states (runtime-spec runtime.md "State"), plus paused. */
export type OciStatus = ReturnType<typeof ociStatus>;

const ID = /^[\w+\-.]+$/;

/** Checks a container id as runc does. Throws UsageError. */
export function checkId(id: string | undefined): string {
  if (!id) throw new UsageError("container id cannot be empty");
  if (!ID.test(id) || id === "." || id === "..") {
    throw new UsageError(`invalid container id format: ${id}`);
  }
  return id;
}

/** The directory of container `id`. */
export function containerDir(root: string, id: string): string {
  return `${root}/${id}`;
}

/** Reads the record of `id`; NotFoundError ("container does not exist") when absent. */
export function readRecord(root: string, id: string): OciRecord {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${containerDir(root, checkId(id))}/state.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new NotFoundError(`container does not exist`);
    throw new TsboxError(`read the state of ${id}`, { cause: e });
  }
  return JSON.parse(text) as OciRecord;
}

/** Writes the record atomically (a crash leaves the old one or the new one). */
export function writeRecord(root: string, rec: OciRecord): void {
  const dir = containerDir(root, rec.id);
  Deno.writeTextFileSync(`${dir}/state.json.tmp`, JSON.stringify(rec));
  Deno.renameSync(`${dir}/state.json.tmp`, `${dir}/state.json`);
}

/** Ids of every container under `root`. */
export function listIds(root: string): string[] {
  try {
    return [...Deno.readDirSync(root)].filter((e) => e.isDirectory && ID.test(e.name))
      .map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/**
 * Takes the container's lock (flock on <dir>/lock) for the duration of `fn`:
 * two verbs on one container never interleave.
 */
export async function withLock<T>(root: string, id: string, fn: () => Promise<T>): Promise<T> {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(`${containerDir(root, id)}/lock`, { write: true, create: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new NotFoundError(`container does not exist`);
    throw e;
  }
  try {
    f.lockSync(true);
    return await fn();
  } finally {
    f.close();
  }
}

/** Field 22 (starttime) of /proc/PID/stat and the state letter; undefined if there is no such process. */
export function procStat(pid: number): { start: string; state: string } | undefined {
  if (pid <= 0) return undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: fields start after the last ")".
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: f[0] ?? "", start: f[19] ?? "" };
}

/** Whether the container's init is alive (not a zombie, not a reused pid). */
export function initAlive(rec: OciRecord): boolean {
  const st = procStat(rec.pid);
  return st !== undefined && st.start === rec.pidStart && st.state !== "Z" && st.state !== "X";
}

/** Whether the exec fifo still exists (the container was created, not started). */
export function fifoExists(root: string, id: string): boolean {
  try {
    Deno.lstatSync(`${containerDir(root, id)}/exec.fifo`);
    return true;
  } catch {
    return false;
  }
}

/** Creates the container's directory; "container with id exists" when it does. */
export function makeContainerDir(root: string, id: string): string {
  Deno.mkdirSync(root, { recursive: true, mode: 0o711 });
  const dir = containerDir(root, id);
  try {
    Deno.mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(`container with id exists: ${id}`);
    }
    throw new TsboxError(`create ${JSON.stringify(dir)}`, { cause: e });
  }
  return dir;
}

/** Removes the container's directory (and the empty rootfs mountpoint in it). */
export function removeContainerDir(root: string, id: string): void {
  try {
    Deno.removeSync(containerDir(root, id), { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
