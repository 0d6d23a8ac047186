// Helpers for the lifecycle tests: polling, detached runs, inspect, and what
// /proc says about processes and supervisors.

import assert from "node:assert/strict";
import { assertHostNetworkUntouched, tsbox, TSBOX_PERMS } from "./harness.ts";

/** The CLI's entry point. */
export const main = new URL("../../main.ts", import.meta.url).pathname;

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something other than undefined or false. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** `tsbox run -d --network none ARGS`; returns the id it printed. */
export async function runD(root: string, ...args: string[]): Promise<string> {
  const r = await tsbox(["run", "-d", "--network", "none", ...args], { root, expect: 0 });
  return r.stdout.trim();
}

/** `tsbox inspect -f FORMAT REF`, trimmed. */
export async function fmt(root: string, ref: string, format: string): Promise<string> {
  return (await tsbox(["inspect", "-f", format, ref], { root, expect: 0 })).stdout.trim();
}

/** The inspect document of `ref`. */
// deno-lint-ignore no-explicit-any
export async function inspect(root: string, ref: string): Promise<any> {
  return JSON.parse((await tsbox(["inspect", ref], { root, expect: 0 })).stdout)[0];
}

/** Whether `pid` is alive and not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** The parent pid of `pid`. */
export function ppid(pid: number): number {
  return Number(Deno.readTextFileSync(`/proc/${pid}/status`).match(/^PPid:\s+(\d+)/m)![1]);
}

/** Pids of the live supervisors of state root `root`. */
export function supervisors(root: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0").filter(Boolean);
      if (argv.at(-1) !== "supervise") continue;
      const env = Deno.readTextFileSync(`/proc/${e.name}/environ`).split("\0");
      if (env.includes(`TSBOX_ROOT=${root}`) && alive(Number(e.name))) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

/** A tsbox command left running (logs -f, events, attach), its output collected as it comes. */
export class Background {
  out = "";
  err = "";
  readonly child: Deno.ChildProcess;
  readonly #pumps: Promise<void>[];

  constructor(root: string, args: string[], opts: { stdin?: "piped" | "null" } = {}) {
    assertHostNetworkUntouched(args);
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...TSBOX_PERMS, main, ...args],
      env: { TSBOX_ROOT: root },
      stdin: opts.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>, k: "out" | "err") => {
      const dec = new TextDecoder();
      for await (const c of s) this[k] += dec.decode(c, { stream: true });
    };
    this.#pumps = [pump(this.child.stdout, "out"), pump(this.child.stderr, "err")];
  }

  async waitFor(re: RegExp, ms = 10_000): Promise<void> {
    await until(
      `${re} in the output of tsbox (got ${JSON.stringify(this.out)})`,
      () => Promise.resolve(re.test(this.out)),
      ms,
    );
  }

  /** Waits (at most `ms`) for the process to end by itself; returns its exit code. */
  async finished(ms = 15_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tsbox did not exit within ${ms} ms`)), ms);
    });
    try {
      const status = await Promise.race([this.child.status, timeout]);
      await Promise.all(this.#pumps);
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.child.status;
    await Promise.all(this.#pumps);
  }
}
