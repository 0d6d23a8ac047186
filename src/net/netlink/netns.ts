// Running a few synchronous calls inside another network namespace: setns(2)
// with CLONE_NEWNET on the calling thread, then back to the thread's original
// namespace, saved from /proc/thread-self/ns/net. setns of a network namespace
// changes only the calling thread (setns(2): "reassociate the calling thread"),
// so this is safe in Deno's multi-threaded process as long as `fn` makes only
// synchronous calls: no other JavaScript runs on this thread in between.
// Sockets and /proc/sys/net files opened meanwhile stay bound to the namespace
// they were opened in. See setns(2), network_namespaces(7).

import { O } from "../../../ffi/constants.ts";
import { sys } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { cloneFlag } from "../../runtime/namespaces.ts";

/**
 * Opens a network namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`) and
 * returns its fd (close-on-exec). Close it with `closeFd`.
 *
 * @example
 * const fd = openNetns("/run/netns/tsbox-1");
 */
export function openNetns(path: string): number {
  return sys("open", [path, O.RDONLY | O.CLOEXEC]);
}

/** Closes an fd returned by `openNetns` (or any raw fd). */
export function closeFd(fd: number): void {
  sys("close", [fd], `fd ${fd}`);
}

/**
 * Runs `fn` with the calling thread in the network namespace `netnsFd`, then
 * returns the thread to its own namespace, even when `fn` throws. `fn` must be
 * synchronous. Requires CAP_SYS_ADMIN (setns).
 *
 * @example
 * const fd = withNetns(nsFd, () => sys("socket", [AF_NETLINK, SOCK_RAW, 0]));
 */
export function withNetns<T>(netnsFd: number, fn: () => T): T {
  const flag = cloneFlag("network");
  const own = openNetns("/proc/thread-self/ns/net");
  try {
    sys("setns", [netnsFd, flag], `fd ${netnsFd} net`);
    let result: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      result = { ok: true, value: fn() };
    } catch (error) {
      result = { ok: false, error };
    }
    try {
      sys("setns", [own, flag], `fd ${own} net (back to the thread's own namespace)`);
    } catch (e) {
      // Staying in the wrong namespace would send every later call there: this wins.
      throw new TsboxError("return to the original network namespace", { cause: e });
    }
    if (!result.ok) throw result.error;
    return result.value;
  } finally {
    closeFd(own);
  }
}
