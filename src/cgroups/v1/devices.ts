// cgroup v1 "devices" controller: devices.allow and devices.deny take one
// rule per write ("c 1:3 rwm", "a"); devices.list shows the result.
// Documentation/admin-guide/cgroup-v1/devices.rst.
//
// The OCI list is written in order, after resetting the group to deny-all (so
// v1 and the v2 BPF filter agree: default deny, later rules override earlier
// ones). Writing "a" resets a group's behaviour, which the kernel refuses
// (EINVAL) once the group has children: device rules go on leaf groups.

import { Errno } from "../../../ffi/errno.ts";
import { SyscallError } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { childDirs, writeCommand } from "../fs.ts";
import { type DeviceRule, isWildcardRule, v1DeviceRule } from "../resources.ts";
import type { V1Controller } from "./controller.ts";

/** The writes that install `rules` on a v1 group: [file, line] in order. */
export function v1DeviceWrites(rules: readonly DeviceRule[]): [string, string][] {
  const out: [string, string][] = [];
  if (rules.length === 0) return out;
  if (!isWildcardRule(rules[0]!)) out.push(["devices.deny", "a"]);
  for (const r of rules) out.push([r.allow ? "devices.allow" : "devices.deny", v1DeviceRule(r)]);
  return out;
}

/** The v1 devices controller. */
export const devices: V1Controller = {
  name: "devices",
  serves: "devices",
  apply(dir, r) {
    for (const [file, line] of v1DeviceWrites(r.devices ?? [])) {
      try {
        writeCommand(`${dir}/${file}`, line);
      } catch (e) {
        if (
          e instanceof SyscallError && e.errno === Errno.EINVAL && line === "a" &&
          childDirs(dir).length > 0
        ) {
          throw new TsboxError(
            "set device rules: cgroup v1 cannot reset the rules of a group that has child groups",
            { cause: e },
          );
        }
        throw e;
      }
    }
  },
};
