// cgroup v1 "blkio" controller: proportional weight (blkio.weight, or
// blkio.bfq.weight with the BFQ scheduler), per-device weight
// (blkio.weight_device / blkio.bfq.weight_device), throttling
// (blkio.throttle.{read,write}_{bps,iops}_device) and I/O figures
// (blkio.throttle.io_service_bytes_recursive, io_serviced_recursive).
// Documentation/admin-guide/cgroup-v1/blkio-controller.rst.

import { pathExists, tryReadText, writeCommand, writeValue } from "../fs.ts";
import type { ThrottleDevice } from "../resources.ts";
import type { V1Controller } from "./controller.ts";

function weightFile(dir: string, base: string): string {
  return pathExists(`${dir}/blkio.${base}`) ? `${dir}/blkio.${base}` : `${dir}/blkio.bfq.${base}`;
}

function throttle(dir: string, file: string, list: ThrottleDevice[] | undefined): void {
  for (const t of list ?? []) writeCommand(`${dir}/${file}`, `${t.major}:${t.minor} ${t.rate}`);
}

/** Sums "MAJ:MIN Read N" / "MAJ:MIN Write N" lines. */
function sumReadWrite(text: string): { read: number; write: number } {
  let read = 0, write = 0;
  for (const line of text.split("\n")) {
    const [dev, op, v] = line.trim().split(/\s+/);
    if (!dev || !dev.includes(":") || v === undefined) continue;
    if (op === "Read") read += Number(v);
    if (op === "Write") write += Number(v);
  }
  return { read, write };
}

/** The v1 blkio controller. */
export const blkio: V1Controller = {
  name: "blkio",
  serves: "io",
  apply(dir, r) {
    const b = r.blockIO;
    if (!b) return;
    if (b.weight) writeValue(weightFile(dir, "weight"), String(b.weight));
    for (const d of b.weightDevice ?? []) {
      if (d.weight) {
        writeCommand(weightFile(dir, "weight_device"), `${d.major}:${d.minor} ${d.weight}`);
      }
    }
    throttle(dir, "blkio.throttle.read_bps_device", b.throttleReadBpsDevice);
    throttle(dir, "blkio.throttle.write_bps_device", b.throttleWriteBpsDevice);
    throttle(dir, "blkio.throttle.read_iops_device", b.throttleReadIOPSDevice);
    throttle(dir, "blkio.throttle.write_iops_device", b.throttleWriteIOPSDevice);
  },
  stats(dir, s) {
    const bytes = sumReadWrite(
      tryReadText(`${dir}/blkio.throttle.io_service_bytes_recursive`) ?? "",
    );
    const ops = sumReadWrite(tryReadText(`${dir}/blkio.throttle.io_serviced_recursive`) ?? "");
    s.blkio = {
      readBytes: bytes.read,
      writeBytes: bytes.write,
      readOps: ops.read,
      writeOps: ops.write,
    };
  },
};
