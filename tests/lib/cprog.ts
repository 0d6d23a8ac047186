// Small static C programs the security tests run inside containers (probes
// that must act at a process's first instruction, or speak raw frames):
// tests/fixtures/c/NAME.c, compiled with gcc -static on first use and cached
// in .cache/c/ under a name that includes the source's hash. gcc and
// libc6-dev come from `scripts/setup --test`.

import { host } from "./harness.ts";

const repo = new URL("../../", import.meta.url).pathname;

/**
 * The directory holding the compiled `names` (each as its own name), to bind
 * into a container read-only: `-v DIR:/t:ro`, then run `/t/NAME`.
 */
export async function cPrograms(...names: string[]): Promise<string> {
  const hashes: string[] = [];
  for (const name of names) {
    const src = await Deno.readFile(`${repo}tests/fixtures/c/${name}.c`);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", src));
    hashes.push(Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  const dir = `${repo}.cache/c/${hashes.join("-")}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const name of names) {
    const out = `${dir}/${name}`;
    try {
      await Deno.stat(out);
      continue;
    } catch { /* not built yet */ }
    const tmp = `${out}.tmp${Deno.pid}`;
    await host("gcc", [
      "-static",
      "-O2",
      "-Wall",
      "-o",
      tmp,
      `${repo}tests/fixtures/c/${name}.c`,
    ]);
    await Deno.rename(tmp, out);
  }
  return dir;
}
