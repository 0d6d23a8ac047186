// The supervisor is one long-lived process that mostly waits, so when it has
// been quiet for a moment it gives back what it does not need while waiting:
// V8's garbage (a full GC, with --expose-gc), the C heap's free pages
// (malloc_trim), and the pages of the deno executable and V8's code cache it
// touched while starting (madvise MADV_PAGEOUT: clean file pages, dropped and
// read back from the file if that code runs again). This is what keeps the
// host memory per idle container near conmon's (see `deno task bench`).

import { mallocTrim } from "../../ffi/libc.ts";
import { sysRaw } from "../../ffi/syscall.ts";

const MADV_PAGEOUT = 21; // Linux 5.4+; older kernels answer EINVAL and keep the pages

/** The read-only file mappings of the executable and V8's code cache, from /proc/self/maps. */
function fileMappings(): { start: bigint; len: bigint }[] {
  const exe = Deno.execPath();
  const out: { start: bigint; len: bigint }[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/maps").split("\n")) {
    const f = line.split(/\s+/);
    if (f.length < 6 || f[1]!.includes("w")) continue;
    const path = f.slice(5).join(" ");
    if (path !== exe && !path.includes("v8_code_cache")) continue;
    const [a, b] = f[0]!.split("-").map((h) => BigInt(`0x${h}`)) as [bigint, bigint];
    out.push({ start: a, len: b - a });
  }
  return out;
}

/** Returns memory the idle supervisor holds but does not need. Never throws. */
export function trimIdleMemory(): void {
  try {
    (globalThis as { gc?: () => void }).gc?.();
    mallocTrim();
    for (const m of fileMappings()) sysRaw("madvise", [m.start, m.len, MADV_PAGEOUT]);
  } catch { /* best effort: memory, not correctness */ }
}
