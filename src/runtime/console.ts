// The container's terminal: the pty master arrives from the child over a
// socketpair (SCM_RIGHTS, see unix(7)); tsbox relays it to its own terminal in
// raw mode and forwards window size changes (TIOCGWINSZ/TIOCSWINSZ, see
// ioctl_tty(2)). The pty lives in the container's own devpts instance, so
// `tty` inside prints /dev/pts/0, as with Docker.

import { SCM_RIGHTS, SOL_SOCKET, TIOCGWINSZ, TIOCSWINSZ } from "../../ffi/constants.ts";
import { addr } from "../../ffi/mem.ts";
import { sys, sysAsync, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";

/** Receives one fd sent with SCM_RIGHTS on `sock` (blocking). */
export function receiveFd(sock: number): number {
  const data = new Uint8Array(1);
  const iov = new BigUint64Array([addr(data), 1n]);
  const cmsg = new Uint8Array(24);
  const msg = new BigUint64Array([0n, 0n, addr(iov), 1n, addr(cmsg), 24n, 0n]);
  const n = sys("recvmsg", [sock, msg, 0], "console socket");
  const dv = new DataView(cmsg.buffer);
  if (n <= 0 || dv.getInt32(8, true) !== SOL_SOCKET || dv.getInt32(12, true) !== SCM_RIGHTS) {
    throw new TsboxError("the container did not send its console");
  }
  return dv.getInt32(16, true);
}

/** The window size of terminal `fd` as [rows, cols], or undefined when it is not a terminal. */
export function windowSize(fd: number): [number, number] | undefined {
  const ws = new Uint16Array(4);
  if (sysRaw("ioctl", [fd, TIOCGWINSZ, ws]) < 0) return undefined;
  return [ws[0]!, ws[1]!];
}

/** Sets the window size of pty `fd`. */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  sysRaw("ioctl", [fd, TIOCSWINSZ, new Uint16Array([rows, cols, 0, 0])]);
}

const TCGETS = 0x5401, TCSETS = 0x5402, OPOST = 0o1;

/**
 * Puts our terminal (fd 0) in raw mode, as cfmakeraw(3) does: Deno's setRaw
 * leaves output post-processing on, which would turn the container's
 * "\r\n" into "\r\r\n". Returns the function that restores it; a no-op
 * when stdin is not a terminal.
 */
export function rawTerminal(): () => void {
  if (!Deno.stdin.isTerminal()) return () => {};
  const saved = new Uint32Array(15); // struct termios (60 bytes on x86_64); c_oflag is the second field
  const got = sysRaw("ioctl", [0, TCGETS, saved]) === 0;
  Deno.stdin.setRaw(true);
  const t = new Uint32Array(15);
  if (sysRaw("ioctl", [0, TCGETS, t]) === 0 && t[1]! & OPOST) {
    t[1] = t[1]! & ~OPOST;
    sysRaw("ioctl", [0, TCSETS, t]);
  }
  return () => {
    Deno.stdin.setRaw(false);
    if (got) sysRaw("ioctl", [0, TCSETS, saved]);
  };
}

/**
 * Relays between our stdio and the pty master until the container side
 * closes. Puts our terminal in raw mode meanwhile (Ctrl-C goes to the
 * container as a byte) and follows SIGWINCH.
 */
export function relayConsole(master: number): { done: Promise<void>; restore: () => void } {
  const restoreTerminal = rawTerminal();
  const onWinch = () => {
    const ws = windowSize(1) ?? windowSize(0);
    if (ws) setWindowSize(master, ws[0], ws[1]);
  };
  onWinch();
  Deno.addSignalListener("SIGWINCH", onWinch);
  let stop = false;
  (async () => {
    const buf = new Uint8Array(16384);
    while (!stop) {
      const n = await Deno.stdin.read(buf).catch(() => null);
      if (n === null) break;
      let off = 0;
      while (off < n) {
        const w = await sysAsync("write", [master, buf.subarray(off, n), n - off]).catch(() => -1);
        if (w <= 0) return;
        off += w;
      }
    }
  })();
  const output = (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await sysAsync("read", [master, buf, buf.length]).catch(() => -1);
      if (n <= 0) break;
      let off = 0;
      while (off < n) off += await Deno.stdout.write(buf.subarray(off, n));
    }
  })();
  return {
    done: output,
    restore: () => {
      stop = true;
      Deno.removeSignalListener("SIGWINCH", onWinch);
      restoreTerminal();
    },
  };
}
