// cgroup v1 "net_cls" controller: net_cls.classid, the class id tc and
// netfilter see on the group's packets. v1 only; cgroup v2 has no equivalent.
// Documentation/admin-guide/cgroup-v1/net_cls.rst.

import { writeValue } from "../fs.ts";
import type { V1Controller } from "./controller.ts";

/** The v1 net_cls controller. */
export const netCls: V1Controller = {
  name: "net_cls",
  serves: "net_cls",
  apply(dir, r) {
    if (r.network?.classID) writeValue(`${dir}/net_cls.classid`, String(r.network.classID));
  },
};
