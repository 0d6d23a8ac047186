// Linux capabilities by name and number (capabilities(7),
// include/uapi/linux/capability.h), and the sets as the bit masks that
// capset(2) and /proc/PID/status use.

/** Capability names in kernel order: index = capability number. */
export const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/** A capability name such as "CAP_NET_ADMIN". */
export type CapabilityName = typeof CAPABILITIES[number];

/** The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
export function lastCap(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/sys/kernel/cap_last_cap").trim());
  } catch {
    return CAPABILITIES.length - 1;
  }
}

/**
 * Normalizes a user-given name: "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN"
 * all give "CAP_NET_ADMIN"; "ALL" stays "ALL". Returns undefined if unknown.
 */
export function normalizeCap(name: string): string | undefined {
  const up = name.trim().toUpperCase();
  if (up === "ALL") return "ALL";
  const full = up.startsWith("CAP_") ? up : `CAP_${up}`;
  return (CAPABILITIES as readonly string[]).includes(full) ? full : undefined;
}

/** The number of a capability name, or undefined. */
export function capNumber(name: string): number | undefined {
  const i = (CAPABILITIES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : i;
}

/** The bit mask of a set of names (unknown names are ignored by the caller's validation). */
export function capMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const i = capNumber(n);
    if (i !== undefined) mask |= 1n << BigInt(i);
  }
  return mask;
}

/** Names of the capabilities in `mask`. */
export function capNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}
