// Helpers for the `tsbox ui` tests: start the server as a user would (the
// CLI, printing its URL), and send raw HTTP/1.1 requests with exactly the
// headers a test chooses (fetch() would not send a forged Host header).

import { TSBOX_PERMS } from "./harness.ts";
import { type TestNetns, tsboxCommand } from "./netns.ts";

const main = new URL("../../main.ts", import.meta.url).pathname;

/** A `tsbox ui` process and the URL it printed. */
export interface UiProcess {
  url: URL;
  token: string;
  port: number;
  child: Deno.ChildProcess;
  /** Stops it (SIGTERM) and waits. */
  stop(): Promise<void>;
}

/** Starts `tsbox ui ARGS` (inside `ns` when given) and waits for its URL. */
export async function startUi(
  root: string,
  args: string[] = ["--listen", "127.0.0.1:0"],
  ns?: TestNetns,
): Promise<UiProcess> {
  const cmd = ns
    ? new Deno.Command("nsenter", {
      args: tsboxCommand(ns, ["ui", ...args]),
      env: { TSBOX_ROOT: root },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...TSBOX_PERMS, main, "ui", ...args],
      env: { TSBOX_ROOT: root },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  const child = cmd.spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 30_000;
  while (!text.includes("\n") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  const line = text.split("\n")[0] ?? "";
  if (!line.startsWith("http://")) {
    child.kill("SIGKILL");
    const err = new TextDecoder().decode((await child.output()).stderr);
    throw new Error(`tsbox ui printed ${JSON.stringify(line)}: ${err}`);
  }
  const url = new URL(line);
  return {
    url,
    token: url.searchParams.get("token")!,
    port: Number(url.port),
    child,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
    },
  };
}

/** An HTTP response as read off the socket. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends one HTTP/1.1 request with exactly these headers (plus Connection: close) to 127.0.0.1:port. */
export async function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const lines = [`${method} ${path} HTTP/1.1`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    lines.push(
      "Connection: close",
      `Content-Length: ${new TextEncoder().encode(body).length}`,
      "",
      body,
    );
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    let text = "";
    const buf = new Uint8Array(65536);
    const dec = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
      // Streams (SSE) never end: a head and some body is enough.
      if (text.includes("text/event-stream") && text.includes("\r\n\r\n")) break;
    }
    const [head, ...rest] = text.split("\r\n\r\n");
    const [statusLine, ...hs] = (head ?? "").split("\r\n");
    const map = new Map<string, string>();
    for (const h of hs) {
      const i = h.indexOf(":");
      const k = h.slice(0, i).trim().toLowerCase();
      map.set(k, map.has(k) ? `${map.get(k)}, ${h.slice(i + 1).trim()}` : h.slice(i + 1).trim());
    }
    return { status: Number(statusLine?.split(" ")[1]), headers: map, body: rest.join("\r\n\r\n") };
  } finally {
    conn.close();
  }
}
