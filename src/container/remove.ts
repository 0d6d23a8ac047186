// Removing a container: undo every resource recorded for it, newest first,
// continuing past failures and reporting them all (netavark's error list),
// then forget the record. Used by `rm`, `run --rm` and crash cleanup.
//
// Teardown has one owner per resource: the supervisor recording an exit and
// an `rm -f` may tear the same container down at once, so each resource is
// claimed in the state (its row names the claiming process) before it is
// undone; another live process's claim is left to it, and a removal waits for
// those before it forgets the record. A claim of a process that died is taken
// over. Every undo is idempotent: what is already gone is not a failure.

import { ErrorList } from "../errors.ts";
import {
  deleteContainer,
  listResources,
  removeResource,
  type Resource,
} from "../state/containers.ts";
import { state } from "../state/db.ts";
import { containerRunDir } from "../supervisor/logs.ts";
import { processStartTime } from "./proc.ts";

/** Undoes one kind of resource; registered by the module that creates it. */
export type Undo = (containerId: string, r: Resource) => void | Promise<void>;

const undoers = new Map<string, Undo>([
  ["starter", () => {}], // a record of who was starting it: nothing to undo
  ["dir", (_id, r) => {
    try {
      Deno.removeSync(r.key, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }],
]);

/**
 * Modules that know how to undo a kind, loaded only when a container has
 * such a resource (a `--network none` container never loads netlink). The
 * cgroup module registers itself on load (it imports this module).
 */
const LOADERS: Record<string, () => Promise<void>> = {
  cgroup: async () => void await import("./cgroup.ts"),
  volume: async () => void await import("./volumes.ts"),
  network: async () =>
    registerUndo("network", (await import("../net/teardown.ts")).undoNetworkResource),
};

async function loadUndoers(kinds: Iterable<string>): Promise<void> {
  for (const k of kinds) if (!undoers.has(k)) await LOADERS[k]?.();
}

/** Registers how to undo resources of `kind`. */
export function registerUndo(kind: string, fn: Undo): void {
  undoers.set(kind, fn);
}

/** Who claimed a resource for its undo. */
interface Claim {
  pid: number;
  start: string | null;
}

const SELECT = "SELECT data FROM resources WHERE container_id = ? AND kind = ? AND key = ?";
const UPDATE = "UPDATE resources SET data = ? WHERE container_id = ? AND kind = ? AND key = ?";

/**
 * Claims `r` for this process: true when it is ours to undo now; false when
 * it is already released, or another live process is releasing it.
 */
function claim(id: string, r: Resource): boolean {
  const st = state();
  return st.essential(() =>
    st.tx(() => {
      const row = st.get<{ data: string | null }>(SELECT, id, r.kind, r.key);
      if (!row) return false;
      const data = JSON.parse(row.data ?? "{}") as Record<string, unknown>;
      const c = data.releasing as Claim | undefined;
      if (c && c.pid !== Deno.pid && c.start !== null && processStartTime(c.pid) === c.start) {
        return false;
      }
      data.releasing = { pid: Deno.pid, start: processStartTime(Deno.pid) } satisfies Claim;
      st.run(UPDATE, JSON.stringify(data), id, r.kind, r.key);
      return true;
    })
  );
}

/** Gives a claim back after a failed undo (a later `rm` tries again). */
function unclaim(id: string, r: Resource): void {
  const st = state();
  st.tx(() => {
    const row = st.get<{ data: string | null }>(SELECT, id, r.kind, r.key);
    if (!row) return;
    const data = JSON.parse(row.data ?? "{}") as Record<string, unknown>;
    delete data.releasing;
    st.run(UPDATE, JSON.stringify(data), id, r.kind, r.key);
  });
}

/**
 * Undoes the resources of `id` (newest first), forgetting each one undone:
 * all of them, or all but the kinds in `keep`. Throws one error listing all
 * failures. Returns how many another process is undoing right now.
 */
export async function releaseResources(id: string, keep: readonly string[] = []): Promise<number> {
  const all = listResources(id).filter((r) => !keep.includes(r.kind)).reverse();
  await loadUndoers(new Set(all.map((r) => r.kind)));
  const errs = new ErrorList();
  let others = 0;
  for (const r of all) {
    const undo = undoers.get(r.kind);
    if (!undo) {
      // Keep the record: forgetting it would leak the object for good.
      errs.errors.push(
        new Error(`no way to release resource kind ${JSON.stringify(r.kind)} (${r.key})`),
      );
      continue;
    }
    if (!claim(id, r)) {
      if (listResources(id).some((x) => x.kind === r.kind && x.key === r.key)) others++;
      continue;
    }
    await errs.tryAsync(`release ${r.kind} ${r.key}`, async () => {
      try {
        await undo(id, r);
      } catch (e) {
        unclaim(id, r);
        throw e;
      }
      state().essential(() => removeResource(id, r.kind, r.key));
    });
  }
  errs.throwIfAny(`clean up container ${id.slice(0, 12)}`);
  return others;
}

/**
 * Releases everything of a stopped container (waiting for what another
 * process is releasing; its anonymous volumes only with `volumes`), removes
 * its run directory (FIFOs), and deletes its record.
 */
export async function destroyContainer(
  id: string,
  opts: { volumes?: boolean } = {},
): Promise<void> {
  await loadUndoers(["volume"]);
  // Anonymous volumes go with `rm -v` and --rm; a plain rm leaves them (as Docker).
  const keep = opts.volumes ? [] : ["volume"];
  const deadline = Date.now() + 15_000;
  while ((await releaseResources(id, keep)) > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    Deno.removeSync(containerRunDir(id), { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  state().essential(() => deleteContainer(id));
}
