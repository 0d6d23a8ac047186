// cgroup v2 "hugetlb" controller: hugetlb.<size>.max, e.g. hugetlb.2MB.max.
// Documentation/admin-guide/cgroup-v2.rst ("HugeTLB").

import { writeValue } from "../fs.ts";
import { hugepageSizeName } from "../resources.ts";
import type { V2Controller } from "./controller.ts";

/** The v2 hugetlb controller. */
export const hugetlb: V2Controller = {
  serves: "hugetlb",
  controller: "hugetlb",
  apply(dir, r) {
    for (const h of r.hugepageLimits ?? []) {
      const size = hugepageSizeName(h.pageSize) ?? h.pageSize;
      writeValue(`${dir}/hugetlb.${size}.max`, String(h.limit));
    }
  },
};
