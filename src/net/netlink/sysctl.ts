// Kernel parameters under /proc/sys by dotted name (`net.ipv4.ip_forward`),
// read and written with open/read/write on the calling thread. A /proc/sys/net
// file belongs to the network namespace of the thread that opens it (the
// sysctl lookup uses current->nsproxy->net_ns), whatever namespace /proc was
// mounted from; so `{ netns }` opens the file with the thread inside that
// namespace (netns.ts) and the read or write then acts there.
// See sysctl(8), proc(5) "/proc/sys/net", ip-sysctl.rst in the kernel docs.

import { O } from "../../../ffi/constants.ts";
import { sys } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { concat } from "./message.ts";
import { closeFd, withNetns } from "./netns.ts";

/** Options of the sysctl functions. */
export interface SysctlOptions {
  /** A network namespace fd: the parameter is read or written in that namespace. */
  netns?: number;
}

/**
 * The /proc/sys path of a dotted name. A "/" in the name separates too, so an
 * interface name with a dot can be given: `net/ipv4/conf/eth0.100/forwarding`.
 *
 * @example sysctlPath("net.ipv4.ip_forward") // "/proc/sys/net/ipv4/ip_forward"
 */
export function sysctlPath(name: string): string {
  const parts = name.includes("/") ? name.split("/") : name.split(".");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new TsboxError(`invalid sysctl name ${JSON.stringify(name)}`);
  }
  return `/proc/sys/${parts.join("/")}`;
}

function inNetns<T>(opts: SysctlOptions, fn: () => T): T {
  return opts.netns === undefined ? fn() : withNetns(opts.netns, fn);
}

/**
 * Reads a parameter; returns its text without the trailing newline.
 * @example readSysctl("net.ipv4.ip_forward", { netns: fd }) // "0"
 */
export function readSysctl(name: string, opts: SysctlOptions = {}): string {
  const path = sysctlPath(name);
  const fd = inNetns(opts, () => sys("open", [path, O.RDONLY | O.CLOEXEC]));
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const buf = new Uint8Array(4096);
      const n = sys("read", [fd, buf, buf.length], JSON.stringify(path));
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
    }
    const text = new TextDecoder().decode(concat(chunks));
    return text.replace(/\n$/, "");
  } finally {
    closeFd(fd);
  }
}

/**
 * Writes a parameter (needs CAP_NET_ADMIN in the namespace for net.*).
 * @example writeSysctl("net.ipv4.ip_forward", "1", { netns: fd })
 */
export function writeSysctl(name: string, value: string, opts: SysctlOptions = {}): void {
  const path = sysctlPath(name);
  const fd = inNetns(opts, () => sys("open", [path, O.WRONLY | O.CLOEXEC]));
  try {
    const data = new TextEncoder().encode(value);
    const n = sys(
      "write",
      [fd, data, data.length],
      `${JSON.stringify(path)} ${JSON.stringify(value)}`,
    );
    if (n !== data.length) {
      throw new TsboxError(`write sysctl ${name}: wrote ${n} of ${data.length} bytes`);
    }
  } finally {
    closeFd(fd);
  }
}
