// Resolves `-u user[:group]` against the image's /etc/passwd and /etc/group
// (passwd(5), group(5)), as Docker does: names or numbers, the user's primary
// group by default, and supplementary groups from /etc/group membership.

import { UsageError } from "../errors.ts";

/** A resolved process user. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Parses /etc/passwd text. */
export function parsePasswd(text: string): PasswdEntry[] {
  return text.split("\n").flatMap((l) => {
    const f = l.split(":");
    if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) return [];
    return [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }];
  });
}

/** Parses /etc/group text. */
export function parseGroup(text: string): GroupEntry[] {
  return text.split("\n").flatMap((l) => {
    const f = l.split(":");
    if (f.length < 4 || !/^\d+$/.test(f[2]!)) return [];
    return [{ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) }];
  });
}

/**
 * Resolves `spec` ("", "1000", "1000:1000", "app", "app:staff") with the
 * image's passwd and group texts (empty strings when the image has none).
 */
export function resolveUser(spec: string, passwd: string, group: string): ResolvedUser {
  const [u = "", g] = spec.split(":", 2) as [string, string | undefined];
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let uid: number, gid: number | undefined, home = "/", name: string | undefined;
  if (u === "" || /^\d+$/.test(u)) {
    uid = u === "" ? 0 : Number(u);
    const e = users.find((x) => x.uid === uid);
    if (e) (gid = e.gid, home = e.home, name = e.name);
    else if (uid === 0) home = "/root";
  } else {
    const e = users.find((x) => x.name === u);
    if (!e) throw new UsageError(`unable to find user ${u}: no matching entries in passwd file`);
    (uid = e.uid, gid = e.gid, home = e.home, name = e.name);
  }
  if (uid > 0xfffffffe) throw new UsageError(`uid ${uid} out of range`);
  if (g !== undefined && g !== "") {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const ge = groups.find((x) => x.name === g);
      if (!ge) throw new UsageError(`unable to find group ${g}: no matching entries in group file`);
      gid = ge.gid;
    }
  }
  const primary = gid ?? 0;
  const additionalGids = name === undefined
    ? []
    : groups.filter((x) => x.members.includes(name!) && x.gid !== primary).map((x) => x.gid);
  return { uid, gid: primary, additionalGids, home };
}
