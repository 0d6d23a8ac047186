// Groups made by `tsbox group create`: cgroup parents with limits, rows of
// the `groups` table (src/state/db.ts). The cgroups themselves are made from
// these rows (src/container/groups.ts), again after a reboot.

import type { Resources } from "../spec/types.ts";
import { now, state } from "./db.ts";

/** A group made by `tsbox group create`. */
export interface GroupRecord {
  name: string;
  resources: Resources;
  created: string;
}

interface GroupRow {
  name: string;
  resources: string;
  created: string;
}

const fromRow = (r: GroupRow): GroupRecord => ({
  name: r.name,
  resources: JSON.parse(r.resources),
  created: r.created,
});

/** The group named `name`, or undefined. */
export function getGroup(name: string): GroupRecord | undefined {
  const r = state().get<GroupRow>("SELECT * FROM groups WHERE name = ?", name);
  return r ? fromRow(r) : undefined;
}

/** Every group, parents before children. */
export function listGroups(): GroupRecord[] {
  return state().all<GroupRow>("SELECT * FROM groups ORDER BY name").map(fromRow);
}

/** Records a new group. */
export function insertGroup(name: string, resources: Resources): void {
  state().run(
    "INSERT INTO groups (name, resources, created) VALUES (?, ?, ?)",
    name,
    JSON.stringify(resources),
    now(),
  );
}

/** Forgets a group. */
export function deleteGroup(name: string): void {
  state().run("DELETE FROM groups WHERE name = ?", name);
}
