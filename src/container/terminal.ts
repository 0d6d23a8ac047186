// A terminal into a running container for a program rather than this
// process's own tty (the terminal page of `tsbox ui`): `exec -it` through
// the same spawnExec as the CLI (same namespaces, cgroup, capabilities,
// seccomp), with the pty master kept here. Output is read on a worker thread
// (a blocking read(2) through sysAsync) until the slave side is gone (EIO);
// input and window sizes go to the master. ioctl_tty(2) TIOCSWINSZ; pty(7).

import { SIGKILL } from "../../ffi/constants.ts";
import { sysAsync, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { setWindowSize } from "../runtime/console.ts";
import { signalPidfd, waitPidfd } from "../runtime/process.ts";
import { spawnExec } from "./exec.ts";

/** An open terminal session. */
export interface TerminalSession {
  /** Chunks the container's side writes, until it closes. */
  output(): AsyncGenerator<Uint8Array>;
  /** Sends keystrokes (bytes) to the program. */
  write(data: Uint8Array): Promise<void>;
  /** Sets the window size (the program gets SIGWINCH). */
  resize(rows: number, cols: number): void;
  /** The program's exit code, once it has exited. */
  readonly exit: Promise<number>;
  /** Kills the program (if still running); the session ends when its output does. */
  close(): void;
}

/**
 * Starts `command` (default `sh`) on a new pty in container `ref`, sized
 * rows x cols. Throws like `exec` when the container is not running.
 *
 * @example const t = openTerminal("web", ["sh"], 24, 80); t.write(enc("echo hi\n"));
 */
export function openTerminal(
  ref: string,
  command: string[],
  rows: number,
  cols: number,
): TerminalSession {
  const started = spawnExec(
    ref,
    { command, interactive: true, tty: true, env: [], detach: false },
    { stdin: "null", stdout: "inherit", stderr: "inherit" },
    [rows, cols],
  );
  const master = started.console;
  if (master === undefined) {
    sysRaw("close", [started.pidfd]);
    throw new TsboxError("the exec'd process sent no terminal");
  }
  let exited = false;
  const exit = waitPidfd(started.pidfd).then((s) => {
    exited = true;
    sysRaw("close", [started.pidfd]);
    return s.code;
  });
  let closed = false;
  return {
    async *output() {
      const buf = new Uint8Array(65536);
      try {
        for (;;) {
          const n = await sysAsync("read", [master, buf, buf.length]).catch(() => -1);
          if (n <= 0) break;
          yield buf.slice(0, n);
        }
      } finally {
        if (!closed) {
          closed = true;
          sysRaw("close", [master]);
        }
      }
    },
    async write(data) {
      let off = 0;
      while (off < data.length && !closed) {
        const w = await sysAsync("write", [master, data.subarray(off), data.length - off])
          .catch(() => -1);
        if (w <= 0) return;
        off += w;
      }
    },
    resize(r, c) {
      if (!closed && r > 0 && c > 0) setWindowSize(master, r, c);
    },
    exit,
    close() {
      if (!exited) signalPidfd(started.pidfd, SIGKILL);
    },
  };
}
