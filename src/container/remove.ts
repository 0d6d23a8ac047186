// Removing a container: undo every resource recorded for it, newest first,
// continuing past failures and reporting them all (netavark's error list),
// then forget the record. Used by `rm`, `run --rm` and crash cleanup.

import { ErrorList } from "../errors.ts";
import {
  deleteContainer,
  listResources,
  removeResource,
  type Resource,
} from "../state/containers.ts";

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

/**
 * Undoes the resources of `id` (newest first), forgetting each one undone:
 * all of them, or all but the kinds in `keep`. Throws one error listing all failures.
 */
export async function releaseResources(id: string, keep: readonly string[] = []): Promise<void> {
  const all = listResources(id).filter((r) => !keep.includes(r.kind)).reverse();
  await loadUndoers(new Set(all.map((r) => r.kind)));
  const errs = new ErrorList();
  for (const r of all) {
    const undo = undoers.get(r.kind);
    if (!undo) {
      // Keep the record: forgetting it would leak the object for good.
      errs.errors.push(
        new Error(`no way to release resource kind ${JSON.stringify(r.kind)} (${r.key})`),
      );
      continue;
    }
    await errs.tryAsync(`release ${r.kind} ${r.key}`, async () => {
      await undo(id, r);
      removeResource(id, r.kind, r.key);
    });
  }
  errs.throwIfAny(`clean up container ${id.slice(0, 12)}`);
}

/** Releases everything of a stopped container and deletes its record. */
export async function destroyContainer(id: string): Promise<void> {
  await releaseResources(id);
  deleteContainer(id);
}
