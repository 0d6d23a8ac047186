// The network lock: an exclusive flock(2) on $TSBOX_ROOT/network.lock, held
// by one tsbox process at a time while it builds or removes a network's
// kernel objects (bridge, nftables rules of the network, the tsbox table).
// Per-container work does not take it. The kernel drops the lock when the
// holder dies, so a crash never leaves it taken. See flock(2).

import { O } from "../../ffi/constants.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { stateRoot } from "../paths.ts";

// TODO(net): move to ffi/constants.ts with the other flag tables (owned by the ffi/ maintainer).
/** flock(2) operations. */
const LOCK_EX = 2;

/**
 * Runs `fn` holding the network lock of the current state root. `fn` is
 * synchronous: the lock is a blocking flock on this thread. Requires write
 * access to the state root.
 *
 * @example withNetworkLock(() => ensureNetworkKernel(net))
 */
export function withNetworkLock<T>(fn: () => T): T {
  const path = `${stateRoot()}/network.lock`;
  let fd: number;
  try {
    Deno.mkdirSync(stateRoot(), { recursive: true, mode: 0o700 });
    fd = sys("open", [path, O.RDWR | O.CREAT | O.CLOEXEC, 0o600]);
  } catch (e) {
    throw new TsboxError(`open the network lock ${JSON.stringify(path)}`, { cause: e });
  }
  try {
    sys("flock", [fd, LOCK_EX], `${JSON.stringify(path)} LOCK_EX`);
    return fn();
  } finally {
    sysRaw("close", [fd]); // closing the last fd of the open file drops the lock
  }
}
