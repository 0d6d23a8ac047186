// `tsbox attach`: connect this terminal to a detached container, as `docker
// attach` does. The supervisor streams the container's output as it reads it
// (src/supervisor/server.ts) and sends the exit code at the end. Input goes
// straight to the container: for `-t`, into its pty master, taken from the
// supervisor with pidfd_getfd(2), with this terminal in raw mode and its size
// passed on; for `-i`, into the container's stdin FIFO. Ctrl-P Ctrl-Q
// detaches and leaves the container running. `start -a` asks the supervisor
// to start the container and attach in one request, so no output is missed.

import { O, SIGNALS } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { rawTerminal, setWindowSize, windowSize } from "../runtime/console.ts";
import { pidfdOpen } from "../runtime/process.ts";
import { findContainer } from "../state/containers.ts";
import { SupervisorClient } from "../supervisor/client.ts";
import { stdinFifo } from "../supervisor/logs.ts";
import { answerError, decodeBase64 } from "../supervisor/protocol.ts";
import { readyToStart } from "./lifecycle.ts";
import { signalContainer } from "./signal.ts";
import { reconcile } from "./status.ts";
import { checkTransition } from "./state_machine.ts";

/** Ctrl-P Ctrl-Q, Docker's default detach keys. */
const DETACH = [0x10, 0x11];

export interface AttachOptions {
  /** Pass our signals on to the container (not with a terminal: ^C is a byte there). */
  sigProxy: boolean;
  /** Do not send our stdin. */
  noStdin: boolean;
  /** `start -a`: start it first (if it is not running), attached from its first byte. */
  start?: boolean;
}

/** Copies our stdin to `fd` until EOF or the detach keys (then calls `onDetach`). */
async function pumpInput(fd: number, detachKeys: boolean, onDetach: () => void): Promise<void> {
  const buf = new Uint8Array(16384);
  let matched = 0;
  for (;;) {
    const n = await Deno.stdin.read(buf).catch(() => null);
    if (n === null) return;
    let data = buf.subarray(0, n);
    if (detachKeys) {
      for (let i = 0; i < data.length; i++) {
        matched = data[i] === DETACH[matched] ? matched + 1 : data[i] === DETACH[0] ? 1 : 0;
        if (matched === DETACH.length) {
          data = data.subarray(0, Math.max(0, i + 1 - DETACH.length));
          await writeAll(fd, data);
          return onDetach();
        }
      }
    }
    if (!await writeAll(fd, data)) return;
  }
}

/** Writes all of `data` to a (possibly non-blocking) fd; false once it is gone. */
async function writeAll(fd: number, data: Uint8Array): Promise<boolean> {
  let off = 0;
  while (off < data.length) {
    const w = sysRaw("write", [fd, data.subarray(off), data.length - off]);
    if (w === -Errno.EAGAIN) await new Promise((r) => setTimeout(r, 5));
    else if (w === -Errno.EINTR) continue;
    else if (w < 0) return false;
    else off += w;
  }
  return true;
}

/** Attaches to container `ref`; returns its exit code (0 when detached). */
export async function attachContainer(ref: string, opts: AttachOptions): Promise<number> {
  // `start -a` of a stopped container: the supervisor starts it below.
  const ready = opts.start ? readyToStart(ref) : undefined;
  const rec = ready ?? reconcile(findContainer(ref));
  if (!ready) checkTransition("attach", rec);
  const client = await SupervisorClient.connect();
  const cleanup: (() => void)[] = [() => client.close()];
  try {
    const ans = await client.request(
      ready ? { op: "start", id: rec.id, attach: true } : { op: "attach", id: rec.id },
    );
    if (!ans.ok) throw answerError(ans);
    let detached!: () => void;
    const detach = new Promise<number>((resolve) => (detached = () => resolve(0)));
    if (ans.console !== undefined) {
      // A terminal: type into the pty master, in raw mode, at our size.
      const sup = pidfdOpen(ans.supervisor!);
      let master: number;
      try {
        master = sys("pidfd_getfd", [sup, ans.console, 0], "the console from the supervisor");
      } finally {
        sysRaw("close", [sup]);
      }
      cleanup.push(() => sysRaw("close", [master]));
      const onWinch = () => {
        const ws = windowSize(1) ?? windowSize(0);
        if (ws) setWindowSize(master, ws[0], ws[1]);
      };
      onWinch();
      Deno.addSignalListener("SIGWINCH", onWinch);
      cleanup.push(() => Deno.removeSignalListener("SIGWINCH", onWinch));
      if (!opts.noStdin) {
        cleanup.push(rawTerminal());
        void pumpInput(master, true, detached);
      }
    } else {
      if (!opts.noStdin && rec.config.openStdin) {
        // The container holds its stdin FIFO open for reading, so this open does not block.
        const fifo = sys(
          "open",
          [stdinFifo(rec.id), O.WRONLY | O.NONBLOCK | O.CLOEXEC],
          `the stdin of ${rec.name}`,
        );
        cleanup.push(() => sysRaw("close", [fifo]));
        void pumpInput(fifo, Deno.stdin.isTerminal(), detached);
      }
      if (opts.sigProxy) {
        const names: Deno.Signal[] = [
          "SIGINT",
          "SIGTERM",
          "SIGHUP",
          "SIGQUIT",
          "SIGUSR1",
          "SIGUSR2",
        ];
        for (const n of names) {
          const fn = () => signalContainer(rec, SIGNALS[n]!);
          Deno.addSignalListener(n, fn);
          cleanup.push(() => Deno.removeSignalListener(n, fn));
        }
      }
    }
    const output = (async () => {
      for (;;) {
        const m = await client.next();
        if (m === undefined) {
          throw new TsboxError(
            `lost the supervisor while attached to ${rec.name} (see \`tsbox ps -a\`)`,
          );
        }
        if ("output" in m) {
          const data = decodeBase64(m.output);
          const out = m.stream === "stderr" ? Deno.stderr : Deno.stdout;
          let off = 0;
          while (off < data.length) off += await out.write(data.subarray(off));
        } else if ("exit" in m) return m.exit;
      }
    })();
    return await Promise.race([output, detach]);
  } finally {
    for (const c of cleanup.reverse()) c();
  }
}
