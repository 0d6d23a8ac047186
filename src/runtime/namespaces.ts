// The namespaces tsbox knows, in the one order they are created or joined:
// user first (it owns the others, so they are created with its capabilities),
// mount last (joining it changes the paths the others' files are found at).
// This table is the only place in tsbox that spells out a CLONE_NEW* flag.
// See namespaces(7), clone(2), setns(2).

/** One namespace type. */
export interface NamespaceKind {
  /** Name in the OCI runtime spec (`linux.namespaces[].type`). */
  oci: "user" | "cgroup" | "ipc" | "uts" | "network" | "pid" | "time" | "mount";
  /** Name under /proc/PID/ns/. */
  proc: "user" | "cgroup" | "ipc" | "uts" | "net" | "pid" | "time" | "mnt";
  /** The CLONE_NEW* flag. */
  flag: number;
}

/** Every namespace, in creation order. */
export const NAMESPACES: readonly NamespaceKind[] = [
  { oci: "user", proc: "user", flag: 0x10000000 },
  { oci: "cgroup", proc: "cgroup", flag: 0x02000000 },
  { oci: "ipc", proc: "ipc", flag: 0x08000000 },
  { oci: "uts", proc: "uts", flag: 0x04000000 },
  { oci: "network", proc: "net", flag: 0x40000000 },
  { oci: "pid", proc: "pid", flag: 0x20000000 },
  { oci: "time", proc: "time", flag: 0x00000080 },
  { oci: "mount", proc: "mnt", flag: 0x00020000 },
];

/** The table entry for an OCI namespace type. */
export function namespace(oci: NamespaceKind["oci"]): NamespaceKind {
  const ns = NAMESPACES.find((n) => n.oci === oci);
  if (!ns) throw new Error(`unknown namespace type ${oci}`);
  return ns;
}

/** The CLONE_NEW* flag of an OCI namespace type. */
export function cloneFlag(oci: NamespaceKind["oci"]): number {
  return namespace(oci).flag;
}

/** The OR of the flags of `types`, as the bigint clone3 takes. */
export function cloneFlags(types: Iterable<NamespaceKind["oci"]>): bigint {
  let flags = 0n;
  for (const t of types) flags |= BigInt(cloneFlag(t));
  return flags;
}

/** Names of the namespaces in `flags`, e.g. "user|pid|mount". */
export function describeNamespaces(flags: bigint | number): string {
  const f = BigInt(flags);
  return NAMESPACES.filter((n) => (f & BigInt(n.flag)) !== 0n).map((n) => n.oci).join("|");
}
