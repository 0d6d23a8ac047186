// cgroup v1 "hugetlb" controller: hugetlb.<size>.limit_in_bytes, e.g.
// hugetlb.2MB.limit_in_bytes. Documentation/admin-guide/cgroup-v1/hugetlb.rst.

import { writeValue } from "../fs.ts";
import { hugepageSizeName } from "../resources.ts";
import type { V1Controller } from "./controller.ts";

/** The v1 hugetlb controller. */
export const hugetlb: V1Controller = {
  name: "hugetlb",
  serves: "hugetlb",
  apply(dir, r) {
    for (const h of r.hugepageLimits ?? []) {
      const size = hugepageSizeName(h.pageSize) ?? h.pageSize;
      writeValue(`${dir}/hugetlb.${size}.limit_in_bytes`, String(h.limit));
    }
  },
};
