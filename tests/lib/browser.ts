// The browser of the UI tests: tests/lib/browser_driver.ts in a process of
// its own, inside a test network namespace (or the test's own, where only
// loopback is used), answering one command at a time. Screenshots go to
// tests/artifacts/ (git-ignored), kept after the run.

import { requires } from "./harness.ts";
import type { TestNetns } from "./netns.ts";

const driver = new URL("./browser_driver.ts", import.meta.url).pathname;
/** Where screenshots are kept (git-ignored). */
export const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;

/** The test needs Debian's chromium (scripts/setup --test installs it). */
export function requiresChromium(): { ignore: boolean } {
  try {
    Deno.statSync("/usr/bin/chromium");
    return requires();
  } catch {
    console.error("skipped: needs chromium (apt-get install chromium)");
    return { ignore: true };
  }
}

/**
 * Makes sure puppeteer-core is in Deno's npm cache, from the registry (in
 * the test's own namespace: a test namespace reaches nothing outside).
 */
export async function cacheDriver(): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--quiet", driver],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (r.code !== 0) throw new Error(`deno cache ${driver}: ${new TextDecoder().decode(r.stderr)}`);
}

/** A running headless Chromium. */
export class Browser {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const text = child.stdout.pipeThrough(new TextDecoderStream());
    this.#lines = (async function* () {
      let buf = "";
      for await (const chunk of text) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          yield buf.slice(0, nl);
          buf = buf.slice(nl + 1);
        }
      }
    })();
  }

  /** Starts Chromium inside `ns` (or here, without). */
  static async launch(ns?: TestNetns): Promise<Browser> {
    await cacheDriver();
    const deno = [Deno.execPath(), "run", "--quiet", "--allow-all", "--cached-only", driver];
    const cmd = ns
      ? new Deno.Command("nsenter", {
        args: [`--net=${ns.path}`, ...deno],
        stdin: "piped",
        stdout: "piped",
      })
      : new Deno.Command(deno[0]!, { args: deno.slice(1), stdin: "piped", stdout: "piped" });
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    return new Browser(cmd.spawn());
  }

  async #call<T>(cmd: Record<string, unknown>): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`the browser driver ended before answering ${cmd.op}`);
    const a = JSON.parse(value) as { ok: boolean; value?: T; error?: string };
    if (!a.ok) throw new Error(`browser ${cmd.op}: ${a.error}`);
    return a.value as T;
  }

  /** Loads `url`; returns the HTTP status. */
  async goto(url: string): Promise<number> {
    return (await this.#call<{ status: number }>({ op: "goto", url })).status;
  }

  /** Evaluates an expression in the page. */
  eval<T = unknown>(js: string): Promise<T> {
    return this.#call<T>({ op: "eval", js });
  }

  /** Waits until `js` (an expression) is truthy in the page; returns its value. */
  waitFor<T = unknown>(js: string, timeoutMs = 10_000): Promise<T> {
    return this.#call<T>({ op: "waitFor", js, timeoutMs });
  }

  click(selector: string): Promise<void> {
    return this.#call({ op: "click", selector });
  }

  /** Types text with the keyboard ("\r" is Enter). */
  type(text: string): Promise<void> {
    return this.#call({ op: "type", text });
  }

  /** Saves a full-page screenshot as tests/artifacts/NAME.png. */
  screenshot(name: string): Promise<void> {
    return this.#call({ op: "screenshot", path: `${ARTIFACTS}${name}.png` });
  }

  /** Page metrics (JSHeapUsedSize, ...). */
  metrics(): Promise<Record<string, number>> {
    return this.#call({ op: "metrics" });
  }

  /** Uncaught errors of the page so far. */
  errors(): Promise<string[]> {
    return this.#call({ op: "errors" });
  }

  /** Closes the browser and waits for the driver to end. */
  async close(): Promise<void> {
    try {
      await this.#call({ op: "close" });
    } catch { /* already gone */ }
    await this.#writer.close().catch(() => {});
    const st = await this.#child.status;
    if (!st.success) console.error(`browser driver exited with ${st.code}`);
  }
}
