// Whole-file reads and writes through syscalls, for kernel files Deno's own
// file API treats as privileged (/proc/self/*, /proc/PID/* writes, cgroupfs
// writes whose errno matters): errors name the path and the errno.

import { O } from "./constants.ts";
import { sys, sysRaw } from "./syscall.ts";

const decoder = new TextDecoder();

/** Reads a whole (small, kernel-generated) file as text. */
export function readFileText(path: string): string {
  const fd = sys("open", [path, O.RDONLY | O.CLOEXEC], JSON.stringify(path));
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = sys("read", [fd, buf, buf.length], JSON.stringify(path));
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
    }
    if (chunks.length === 1) return decoder.decode(chunks[0]);
    const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) (all.set(c, o), o += c.length);
    return decoder.decode(all);
  } finally {
    sysRaw("close", [fd]);
  }
}

/** Writes `text` to an existing kernel file in one write(2), as the kernel expects. */
export function writeFileText(path: string, text: string): void {
  const fd = sys("open", [path, O.WRONLY | O.CLOEXEC], JSON.stringify(path));
  try {
    const bytes = new TextEncoder().encode(text);
    sys(
      "write",
      [fd, bytes, bytes.length],
      `${JSON.stringify(path)} (${JSON.stringify(text.trim())})`,
    );
  } finally {
    sysRaw("close", [fd]);
  }
}
