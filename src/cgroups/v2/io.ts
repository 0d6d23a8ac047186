// cgroup v2 "io" controller: proportional weight (io.bfq.weight with the BFQ
// scheduler, which takes blkio's 1..1000 scale; otherwise io.weight with the
// 10..1000 -> 1..10000 conversion), per-device throttles in io.max
// ("MAJ:MIN rbps=N wbps=N riops=N wiops=N"), and the figures of io.stat.
// Documentation/admin-guide/cgroup-v2.rst ("IO").

import { parseNestedKeyed, pathExists, tryReadText, writeCommand, writeValue } from "../fs.ts";
import { blkioWeightToIoWeight, ioMaxLines } from "../resources.ts";
import type { V2Controller } from "./controller.ts";

/** The v2 io controller. */
export const io: V2Controller = {
  serves: "io",
  controller: "io",
  apply(dir, r) {
    const b = r.blockIO;
    if (!b) return;
    const bfq = pathExists(`${dir}/io.bfq.weight`);
    if (b.weight) {
      if (bfq) writeValue(`${dir}/io.bfq.weight`, String(b.weight));
      else writeValue(`${dir}/io.weight`, String(blkioWeightToIoWeight(b.weight)));
    }
    for (const d of b.weightDevice ?? []) {
      if (!d.weight) continue;
      const dev = `${d.major}:${d.minor}`;
      if (bfq) writeCommand(`${dir}/io.bfq.weight`, `${dev} ${d.weight}`);
      else writeCommand(`${dir}/io.weight`, `${dev} ${blkioWeightToIoWeight(d.weight)}`);
    }
    for (const line of ioMaxLines(b)) writeCommand(`${dir}/io.max`, line);
  },
  stats(dir, s) {
    const text = tryReadText(`${dir}/io.stat`);
    if (text === undefined) return;
    for (const kv of parseNestedKeyed(text).values()) {
      s.blkio.readBytes += Number(kv.get("rbytes") ?? 0);
      s.blkio.writeBytes += Number(kv.get("wbytes") ?? 0);
      s.blkio.readOps += Number(kv.get("rios") ?? 0);
      s.blkio.writeOps += Number(kv.get("wios") ?? 0);
    }
  },
};
