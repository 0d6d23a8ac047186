// cgroup v2 "cpuset" controller: cpuset.cpus and cpuset.mems; the sets in
// use are cpuset.cpus.effective and cpuset.mems.effective. Unlike v1, an empty
// set means "inherit", so nothing is copied down.
// Documentation/admin-guide/cgroup-v2.rst ("Cpuset").

import { tryReadValue, writeValue } from "../fs.ts";
import type { V2Controller } from "./controller.ts";

/** The v2 cpuset controller. */
export const cpuset: V2Controller = {
  serves: "cpuset",
  controller: "cpuset",
  apply(dir, r) {
    if (r.cpu?.cpus) writeValue(`${dir}/cpuset.cpus`, r.cpu.cpus);
    if (r.cpu?.mems) writeValue(`${dir}/cpuset.mems`, r.cpu.mems);
  },
};

/** The effective CPUs and memory nodes of `dir`; fields are absent when unreadable. */
export function effectiveCpusetV2(dir: string): { cpus?: string; mems?: string } {
  const out: { cpus?: string; mems?: string } = {};
  const cpus = tryReadValue(`${dir}/cpuset.cpus.effective`);
  const mems = tryReadValue(`${dir}/cpuset.mems.effective`);
  if (cpus) out.cpus = cpus;
  if (mems) out.mems = mems;
  return out;
}
