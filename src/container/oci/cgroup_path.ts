// linux.cgroupsPath as tsbox-runc places a container: a cgroupfs path
// ("/machine/abc", relative to each hierarchy's root), or with the global
// --systemd-cgroup the "slice:prefix:name" form, which runc hands to systemd
// and tsbox maps onto the same cgroupfs path systemd would use (no D-Bus:
// the unit is not known to systemd, see the report of issue 10). Pure.

import { UsageError } from "../../errors.ts";

/** The default parent when config.json names no cgroupsPath. */
export const DEFAULT_OCI_PARENT = "tsbox-runc";

/**
 * "a-b-c.slice" -> "a.slice/a-b.slice/a-b-c.slice", as systemd nests slices
 * (systemd.slice(5)); "-.slice" is the root.
 */
export function expandSlice(slice: string): string {
  if (!slice.endsWith(".slice") || slice.includes("/")) {
    throw new UsageError(`invalid slice name ${JSON.stringify(slice)}`);
  }
  if (slice === "-.slice") return "";
  const name = slice.slice(0, -".slice".length);
  if (name.startsWith("-") || name.endsWith("-") || name.includes("--")) {
    throw new UsageError(`invalid slice name ${JSON.stringify(slice)}`);
  }
  const parts = name.split("-");
  return parts.map((_, i) => `${parts.slice(0, i + 1).join("-")}.slice`).join("/");
}

/**
 * The cgroup path (relative to the hierarchy roots, no leading "/") for a
 * container. Throws UsageError for a malformed path.
 *
 * @example cgroupPathFor("system.slice:crio:abc", "abc", true) // "system.slice/crio-abc.scope"
 */
export function cgroupPathFor(
  cgroupsPath: string | undefined,
  id: string,
  systemd: boolean,
): string {
  if (systemd) {
    const spec = cgroupsPath || `system.slice:tsbox-runc:${id}`;
    const parts = spec.split(":");
    if (parts.length !== 3) {
      throw new UsageError(
        `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${
          JSON.stringify(spec)
        }`,
      );
    }
    const [slice, prefix, name] = parts as [string, string, string];
    const parent = expandSlice(slice || "system.slice");
    const unit = name.endsWith(".slice") ? name : `${prefix ? `${prefix}-` : ""}${name}.scope`;
    return [parent, unit].filter(Boolean).join("/");
  }
  if (!cgroupsPath) return `${DEFAULT_OCI_PARENT}/${id}`;
  if (cgroupsPath.includes(":") && !cgroupsPath.startsWith("/")) {
    throw new UsageError(
      `cgroupsPath ${
        JSON.stringify(cgroupsPath)
      } looks like a systemd "slice:prefix:name": use --systemd-cgroup`,
    );
  }
  const parts = cgroupsPath.split("/").filter(Boolean);
  if (!parts.length || parts.some((p) => p === "." || p === "..")) {
    throw new UsageError(`invalid cgroupsPath ${JSON.stringify(cgroupsPath)}`);
  }
  return parts.join("/");
}
