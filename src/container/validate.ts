// Checks of a container's spec against the host, before anything is
// recorded (the kernel would refuse them only at start, with a message about
// a path inside the container's staging root): --sysctl names and values,
// and bind sources (-v HOST:CONTAINER) that exist. Throws UsageError.

import { UsageError } from "../errors.ts";
import { containerDir } from "../paths.ts";
import { checkSysctl, hostSysctlName } from "../spec/sysctl.ts";
import type { Spec } from "../spec/types.ts";
import { ANONYMOUS_VOLUME } from "../spec/volumes.ts";

function hostSysctl(key: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/sys/${hostSysctlName(key).replaceAll(".", "/")}`);
  } catch {
    return undefined;
  }
}

/** Throws UsageError for what the host cannot give this spec. */
export function checkSpecOnHost(spec: Spec): void {
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    checkSysctl(key, value, hostSysctl(key));
  }
  for (const m of spec.mounts ?? []) {
    if (m.type !== "bind" || m.source === undefined || m.source === ANONYMOUS_VOLUME) continue;
    // tsbox's own files (hostname, hosts, resolv.conf) are made after this check.
    if (m.source.startsWith(`${containerDir("")}`)) continue;
    try {
      Deno.statSync(m.source);
    } catch (e) {
      throw new UsageError(
        `invalid mount ${m.source}:${m.destination}: bind source path does not exist: ${m.source}`,
        { cause: e },
      );
    }
  }
}
