// A headless Chromium for the browser tests, driven over the DevTools
// protocol by puppeteer-core, run as its own process so it can live in the
// test's network namespace (`nsenter --net=... deno run browser_driver.ts`)
// next to the `tsbox ui` it talks to. It reads one JSON command per line on
// stdin and answers one JSON line each on stdout ({ok, value} or {ok:false,
// error}). The browser is Debian's /usr/bin/chromium (no download), with a
// fresh profile that is removed at the end. See tests/lib/browser.ts.

import puppeteer from "npm:puppeteer-core@25.16.0";

const profile = await Deno.makeTempDir({ prefix: "tsbox-test-chromium-" });
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  userDataDir: profile,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const page = await browser.newPage();
await page.setViewport({ width: 1400, height: 900 });
const errors: string[] = [];
page.on("pageerror", (e) => errors.push(String((e as Error).message ?? e)));
page.on("dialog", (d) => void d.accept()); // confirmations of actions: yes

type Command =
  | { op: "goto"; url: string }
  | { op: "eval"; js: string }
  | { op: "waitFor"; js: string; timeoutMs?: number }
  | { op: "click"; selector: string }
  | { op: "type"; text: string }
  | { op: "screenshot"; path: string }
  | { op: "metrics" }
  | { op: "errors" }
  | { op: "close" };

async function run(c: Command): Promise<unknown> {
  switch (c.op) {
    case "goto": {
      const r = await page.goto(c.url, { waitUntil: "load" });
      return { status: r?.status() ?? 0 };
    }
    case "eval":
      return await page.evaluate(c.js);
    case "waitFor": {
      const h = await page.waitForFunction(c.js, { timeout: c.timeoutMs ?? 10_000, polling: 100 });
      return await h.jsonValue();
    }
    case "click":
      await page.click(c.selector);
      return null;
    case "type":
      await page.keyboard.type(c.text);
      return null;
    case "screenshot":
      await page.screenshot({ path: c.path as `${string}.png`, fullPage: true });
      return null;
    case "metrics":
      return await page.metrics();
    case "errors":
      return errors;
    case "close":
      return null;
  }
}

const enc = new TextEncoder();
const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
let buffered = "";
try {
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const c = JSON.parse(line) as Command;
      let answer;
      try {
        answer = { ok: true, value: await run(c) };
      } catch (e) {
        answer = { ok: false, error: String((e as Error).message ?? e) };
      }
      await Deno.stdout.write(enc.encode(JSON.stringify(answer) + "\n"));
      if (c.op === "close") throw new Deno.errors.Interrupted("closed");
    }
  }
} catch (e) {
  if (!(e instanceof Deno.errors.Interrupted)) throw e;
} finally {
  await browser.close();
  await Deno.remove(profile, { recursive: true }).catch(() => {});
}
