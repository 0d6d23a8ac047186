// The supervisor process's life (its work is server.ts): one per state root,
// a socket that is always reachable while it lives, and a hand-over to the
// next one that never leaves a CLI with neither.
//
//   start     take the state root's lock (lock.ts); if another process holds
//             it, wait: an old supervisor exiting idle releases it in a moment.
//             Give up only once another supervisor answers on our socket.
//   serve     listen on $TSBOX_RUNROOT/supervisor.sock (only the lock holder
//             ever binds or unlinks it); every connection first gets a hello.
//             If the socket disappears (the run root was deleted), make it
//             again at once: the lock, not the socket, says who serves.
//   idle exit unlink the socket first (new CLIs start a new supervisor, which
//             waits for our lock), then close the listener: a CLI whose
//             connection was never accepted reads EOF before any hello and
//             sends its request again, to the next supervisor. The lock goes
//             with the process.

import { sysRaw } from "../../ffi/syscall.ts";
import { runRoot } from "../paths.ts";
import { namespacesPath, ownNamespaces, socketPath } from "./client.ts";
import { lockPath, releaseLock, tryTakeLock } from "./lock.ts";
import { Supervisor } from "./server.ts";
import { trimIdleMemory } from "./trim.ts";

const IDLE_EXIT_MS = 2000;
/** Quiet time after which the supervisor trims its memory (see trim.ts). */
const TRIM_AFTER_MS = 1000;
/** How long a new supervisor waits for the lock of one that does not answer. */
const LOCK_WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a supervisor answers on the socket. */
async function answering(path: string): Promise<boolean> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
    return true;
  } catch {
    return false;
  }
}

/** The lock's fd once we hold it; undefined when another supervisor serves (or never lets go). */
async function takeOver(path: string): Promise<number | undefined> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const fd = tryTakeLock();
    if (fd !== undefined) return fd;
    if (await answering(path)) return undefined;
    if (Date.now() > deadline) {
      console.error(
        `tsbox supervisor: another process holds ${runRoot()}'s state lock and does not answer on ${path}`,
      );
      return undefined;
    }
    await sleep(10);
  }
}

/** Whether the lock file still is the file we hold the lock on (the state root was not removed). */
function holdsLockFile(fd: number): boolean {
  try {
    const st = new BigUint64Array(18); // struct stat on x86_64: 144 bytes; st_ino at 8
    if (sysRaw("fstat", [fd, st]) !== 0) return true;
    return Deno.statSync(lockPath()).ino === Number(st[1]);
  } catch {
    return false;
  }
}

/** Our socket's inode, or undefined when the path is gone or another file. */
function socketInode(path: string): number | undefined {
  try {
    const st = Deno.statSync(path);
    return st.isSocket ? st.ino ?? undefined : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the supervisor until it has been idle with nothing to watch. Returns its exit code. */
export async function supervise(): Promise<number> {
  const path = socketPath();
  const lock = await takeOver(path);
  if (lock === undefined) return 0;
  // Our namespaces, as they are now: a CLI compares its own with them
  // (/proc/PID/ns shows the main thread's, which enters a staging mount
  // namespace and containers' network namespaces while it starts one).
  const identity = JSON.stringify(ownNamespaces());
  const sup = new Supervisor();
  await sup.adopt();
  const loop = sup.poller.run();
  let trimmedAt = 0;
  for (;;) {
    Deno.mkdirSync(runRoot(), { recursive: true, mode: 0o700 });
    try {
      Deno.removeSync(path); // a socket left by a supervisor that died
    } catch { /* none */ }
    const listener = Deno.listen({ transport: "unix", path });
    const ino = socketInode(path);
    Deno.writeTextFileSync(namespacesPath(), identity, { mode: 0o600 });
    let why: "idle" | "lost" | "gone" | undefined;
    const tick = setInterval(() => {
      const quietSince = Math.max(sup.lastActivity, sup.poller.lastEvent);
      if (
        sup.connections === 0 && quietSince > trimmedAt && Date.now() - quietSince > TRIM_AFTER_MS
      ) {
        trimmedAt = Date.now();
        trimIdleMemory();
      }
      if (
        sup.watches.size === 0 && sup.connections === 0 && sup.pendingRestarts === 0 &&
        Date.now() - sup.lastActivity > IDLE_EXIT_MS
      ) {
        why = "idle";
        try {
          Deno.removeSync(path);
        } catch { /* gone */ }
        listener.close();
      } else if (!holdsLockFile(lock)) {
        // The state root itself is gone (removed with its lock file): nothing left to serve.
        why = "gone";
        listener.close();
      } else if (socketInode(path) !== ino) {
        why = "lost";
        listener.close();
      }
    }, 250);
    try {
      for await (const conn of listener) {
        sup.lastActivity = Date.now();
        sup.serve(conn);
      }
    } catch { /* listener closed */ }
    clearInterval(tick);
    if (why === "gone") break;
    if (why === "lost") continue;
    while (sup.connections > 0) await sleep(10);
    // A start accepted just before the listener closed: something to watch again.
    if (sup.watches.size === 0 && sup.pendingRestarts === 0) break;
  }
  // Nothing to watch, nothing listening: the next supervisor may start now.
  try {
    Deno.removeSync(namespacesPath());
  } catch { /* gone with the run root */ }
  releaseLock(lock);
  sup.poller.stop();
  await loop;
  return 0;
}
