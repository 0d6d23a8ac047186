// cgroup v1 "cpuset" controller: cpuset.cpus and cpuset.mems, and the
// effective sets (cpuset.effective_cpus, cpuset.effective_mems). A new v1
// cpuset group starts with empty sets and refuses tasks (ENOSPC) until both
// are set, so each new directory gets its parent's sets first.
// Documentation/admin-guide/cgroup-v1/cpusets.rst.

import { tryReadValue, writeValue } from "../fs.ts";
import type { V1Controller } from "./controller.ts";

/** The v1 cpuset controller. */
export const cpuset: V1Controller = {
  name: "cpuset",
  serves: "cpuset",
  prepare(dir, parentDir) {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if ((tryReadValue(`${dir}/${file}`) ?? "") !== "") continue;
      const parent = tryReadValue(`${parentDir}/${file}`) ?? "";
      if (parent !== "") writeValue(`${dir}/${file}`, parent);
    }
  },
  apply(dir, r) {
    if (r.cpu?.cpus) writeValue(`${dir}/cpuset.cpus`, r.cpu.cpus);
    if (r.cpu?.mems) writeValue(`${dir}/cpuset.mems`, r.cpu.mems);
  },
};

/** The effective CPUs and memory nodes of `dir`, as lists; undefined when unreadable. */
export function effectiveCpuset(dir: string): { cpus?: string; mems?: string } {
  const out: { cpus?: string; mems?: string } = {};
  const cpus = tryReadValue(`${dir}/cpuset.effective_cpus`) ?? tryReadValue(`${dir}/cpuset.cpus`);
  const mems = tryReadValue(`${dir}/cpuset.effective_mems`) ?? tryReadValue(`${dir}/cpuset.mems`);
  if (cpus !== undefined) out.cpus = cpus;
  if (mems !== undefined) out.mems = mems;
  return out;
}
