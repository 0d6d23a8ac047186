// The caller's end of --console-socket, as containerd's shim and conmon
// implement it: a listening unix socket that receives the pty master with
// SCM_RIGHTS. Built on tsbox's ffi/ (the tests run as root on x86_64 only).

import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from "../../ffi/constants.ts";
import { sys, sysAsync, sysRaw } from "../../ffi/syscall.ts";
import { receiveFd } from "../../src/runtime/console.ts";

/** A listening console socket at `path`. */
export class ConsoleSocket {
  readonly fd: number;
  constructor(readonly path: string) {
    this.fd = sys("socket", [AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0]);
    const addr = new Uint8Array(110);
    new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
    const p = new TextEncoder().encode(path);
    addr.set(p, 2);
    sys("bind", [this.fd, addr, 2 + p.length + 1], path);
    sys("listen", [this.fd, 1]);
  }

  /** Accepts one connection and returns the pty master it carries. */
  async receiveMaster(): Promise<number> {
    const conn = await sysAsync("accept", [this.fd, null, null]);
    try {
      return receiveFd(conn);
    } finally {
      sysRaw("close", [conn]);
    }
  }

  /** Stops listening (shutdown wakes an accept that waits on another thread). */
  close(): void {
    sysRaw("shutdown", [this.fd, 2]);
    sysRaw("close", [this.fd]);
  }
}

/** Reads the pty master until the slave side is gone (EIO); returns the text. */
export async function readAllPty(master: number): Promise<string> {
  const buf = new Uint8Array(4096);
  let out = "";
  for (;;) {
    const n = await sysAsync("read", [master, buf, buf.length]).catch(() => -1);
    if (n <= 0) break;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  return out;
}
