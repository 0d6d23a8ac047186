// The staging mount namespace: tsbox's main thread unshares a private mount
// namespace, builds the container's root filesystem there (overlay, binds,
// /dev), clones the container (whose mount namespace is a copy of it), and
// returns to the host's namespace. The host never sees the container's
// mounts, and they vanish with the container: nothing to unmount after a
// crash. unshare(CLONE_NEWNS) also unshares the thread's fs_struct
// (CLONE_FS), which is what lets a thread of a multi-threaded process do this
// and later setns(2) back. See mount_namespaces(7), unshare(2), setns(2).

import { MS, O } from "../../ffi/constants.ts";
import { sys } from "../../ffi/syscall.ts";
import { cloneFlag } from "../runtime/namespaces.ts";
import type { Tracer } from "../runtime/trace.ts";

/** A staging namespace the calling thread is in; call `leave()` in a finally block. */
export class Staging {
  readonly #hostMnt: number;
  readonly #cwd: number;
  #left = false;

  private constructor(hostMnt: number, cwd: number) {
    this.#hostMnt = hostMnt;
    this.#cwd = cwd;
  }

  /** Unshares a private mount namespace on the calling thread. Requires CAP_SYS_ADMIN. */
  static enter(trace: Tracer): Staging {
    const hostMnt = sys("open", ["/proc/thread-self/ns/mnt", O.RDONLY | O.CLOEXEC]);
    const cwd = sys("open", [".", O.PATH | O.DIRECTORY | O.CLOEXEC]);
    const s = new Staging(hostMnt, cwd);
    try {
      trace.run(
        "unshare a staging mount namespace",
        () => sys("unshare", [cloneFlag("mount")], "CLONE_NEWNS"),
      );
      // Private, so nothing mounted here propagates back to the host.
      trace.run(
        "make every mount private",
        () =>
          sys("mount", ["none", "/", null, MS.REC | MS.PRIVATE, null], `"/" (MS_REC|MS_PRIVATE)`),
      );
    } catch (e) {
      s.leave();
      throw e;
    }
    return s;
  }

  /** Returns the thread to the host's mount namespace and working directory. */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    try {
      sys("setns", [this.#hostMnt, cloneFlag("mount")], "host mnt namespace");
      sys("fchdir", [this.#cwd]);
    } finally {
      sys("close", [this.#hostMnt]);
      sys("close", [this.#cwd]);
    }
  }
}
