// OCI `linux.resources.unified`: raw cgroup v2 settings, "file": "value",
// written as given after the typed settings (runc does the same). The
// controller a file belongs to is its name's prefix ("memory.high" -> memory).
// Documentation/admin-guide/cgroup-v2.rst; OCI config-linux.md ("Unified").

import { writeValue } from "../fs.ts";
import type { CgroupResources } from "../resources.ts";
import type { V2Controller } from "./controller.ts";

/** The raw v2 settings. */
export const unified: V2Controller = {
  serves: "unified",
  apply(dir, r) {
    for (const [file, value] of Object.entries(r.unified ?? {})) {
      writeValue(`${dir}/${file}`, value);
    }
  },
};

/** The controllers the raw settings of `r` belong to (by file name prefix). */
export function unifiedControllers(r: CgroupResources): string[] {
  const out = new Set<string>();
  for (const file of Object.keys(r.unified ?? {})) {
    const prefix = file.split(".")[0]!;
    if (prefix !== "cgroup") out.add(prefix);
  }
  return [...out];
}
