// Checking --sysctl values before a container is recorded: the name must be
// a parameter this kernel has (the container's namespaces have the same ones
// as the host's; a per-interface name is checked against `default`), and a
// numeric parameter takes numbers only (the kernel would only say EINVAL,
// from inside the container, after it was recorded). Pure: the caller reads
// the host's current value. See sysctl(8), proc(5) "/proc/sys".

import { UsageError } from "../errors.ts";

/** The name to read on the host for a container's parameter: eth0's is checked as `default`'s. */
export function hostSysctlName(key: string): string {
  return key.replace(/^(net\.ipv[46]\.(?:conf|neigh))\.eth0\./, "$1.default.");
}

/**
 * Checks `key=value` against the host's current value of the same parameter
 * (`current`, undefined when the host has no such parameter). Throws UsageError.
 *
 * @example checkSysctl("net.ipv4.ip_forward", "abc", "1") // throws: expects numbers
 */
export function checkSysctl(key: string, value: string, current: string | undefined): void {
  if (current === undefined) {
    throw new UsageError(`invalid --sysctl ${key}=${value}: this kernel has no parameter ${key}`);
  }
  const now = current.trim().split(/\s+/);
  const numeric = now.length > 0 && now.every((t) => /^-?\d+$/.test(t));
  if (!numeric) return;
  const given = value.trim().split(/\s+/);
  if (!given.every((t) => /^-?\d+$/.test(t)) || given.length !== now.length) {
    throw new UsageError(
      `invalid --sysctl ${key}=${value}: expected ${
        now.length === 1 ? "an integer" : `${now.length} integers`
      } (now ${current.trim().replace(/\s+/g, " ")})`,
    );
  }
}
