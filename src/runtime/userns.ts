// User namespaces: the id ranges a container's root maps to (--userns remap:
// /etc/subuid and /etc/subgid entries for user "tsbox", else 100000:65536),
// writing /proc/PID/uid_map and gid_map for a child that waits on its sync
// pipe, and a throwaway namespace whose fd gives overlay layers an id-mapped
// view (mount_setattr MOUNT_ATTR_IDMAP). See user_namespaces(7), subuid(5).

import { O } from "../../ffi/constants.ts";
import { encodeProgram } from "../../ffi/program.ts";
import { spawn } from "../../ffi/spawn.ts";
import { writeFileText } from "../../ffi/file.ts";
import { sys } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { DEFAULT_REMAP } from "../spec/defaults.ts";
import type { IdMapping } from "../spec/types.ts";
import { lower } from "./lower.ts";
import { cloneFlags } from "./namespaces.ts";
import { reap } from "./process.ts";

/** Parses subuid(5)/subgid(5) text; returns the first range of `user`. */
export function parseSubIdFile(
  text: string,
  user: string,
): { hostID: number; size: number } | undefined {
  for (const line of text.split("\n")) {
    const [name, start, count] = line.trim().split(":");
    if (name === user && start && count && /^\d+$/.test(start) && /^\d+$/.test(count)) {
      return { hostID: Number(start), size: Number(count) };
    }
  }
  return undefined;
}

/** The uid and gid mappings for --userns remap. */
export function remapMappings(
  read: (path: string) => string | undefined = (p) => {
    try {
      return Deno.readTextFileSync(p);
    } catch {
      return undefined;
    }
  },
): { uid: IdMapping[]; gid: IdMapping[] } {
  const u = parseSubIdFile(read("/etc/subuid") ?? "", "tsbox") ?? DEFAULT_REMAP;
  const g = parseSubIdFile(read("/etc/subgid") ?? "", "tsbox") ?? DEFAULT_REMAP;
  return {
    uid: [{ containerID: 0, hostID: u.hostID, size: u.size }],
    gid: [{ containerID: 0, hostID: g.hostID, size: g.size }],
  };
}

/** The map file text: "0 100000 65536\n". */
export function formatIdMap(m: readonly IdMapping[]): string {
  return m.map((e) => `${e.containerID} ${e.hostID} ${e.size}\n`).join("");
}

/** The host id that container id `id` maps to, or undefined. */
export function hostId(m: readonly IdMapping[] | undefined, id: number): number | undefined {
  if (!m || m.length === 0) return id;
  for (const e of m) {
    if (id >= e.containerID && id < e.containerID + e.size) return e.hostID + id - e.containerID;
  }
  return undefined;
}

/** Writes uid_map and gid_map of `pid` (a child waiting on its sync pipe). */
export function writeIdMaps(
  pid: number,
  uid: readonly IdMapping[],
  gid: readonly IdMapping[],
): void {
  writeFileText(`/proc/${pid}/uid_map`, formatIdMap(uid));
  writeFileText(`/proc/${pid}/gid_map`, formatIdMap(gid));
}

/**
 * A user namespace with these mappings, as an fd: made by a child that exits
 * right away (the fd keeps the namespace alive). Used for id-mapped mounts.
 */
export function userNamespaceFd(uid: readonly IdMapping[], gid: readonly IdMapping[]): number {
  const sync = new Int32Array(2);
  sys("pipe2", [sync, O.CLOEXEC]);
  const { builder } = lower([{ op: "wait-parent", fd: sync[0]!, writeEnd: sync[1]! }]);
  const prog = encodeProgram(builder.ops, -1, -1);
  let child;
  try {
    child = spawn({ program: prog, flags: cloneFlags(["user"]) });
  } finally {
    sys("close", [sync[0]!]);
  }
  try {
    writeIdMaps(child.pid, uid, gid);
    return sys("open", [`/proc/${child.pid}/ns/user`, O.RDONLY | O.CLOEXEC]);
  } catch (e) {
    throw new TsboxError("create a user namespace for id-mapped layers", { cause: e });
  } finally {
    // Release the child: it runs off the end of its program and exits.
    sys("write", [sync[1]!, new Uint8Array(1), 1]);
    sys("close", [sync[1]!]);
    reap(child.pidfd);
    sys("close", [child.pidfd]);
  }
}
