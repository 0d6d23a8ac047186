// The HTTP server of `tsbox ui` (Deno.serve): static files of the page
// (src/ui/static/, read once at start), JSON documents (api.ts), the live
// feed (stream.ts, server-sent events), followed logs, the terminal
// (terminal.ts, WebSocket), and the container actions, POST only. Every
// request passes auth.ts first; every response carries a strict content
// security policy and no CORS header.
//
//   GET  /                              the page (the containers table already in it)
//   GET  /static/FILE                   app.js, style.css, vendor/xterm.mjs, ...
//   GET  /api/session                   the token, for the page's POSTs and WebSocket
//   GET  /api/containers                the table
//   GET  /api/stream                    SSE: a tick a second (rows, stats)
//   GET  /api/containers/REF            config, isolation facts, last trace
//   GET  /api/containers/REF/top        processes
//   GET  /api/containers/REF/logs       SSE: log lines, followed
//   GET  /api/containers/REF/terminal   WebSocket: a shell on a pty
//   POST /api/containers/REF/ACTION     start stop restart pause unpause rm
//   GET  /api/network[?name=N]          topology and its SVG
//   GET  /api/cgroups  /api/images  /api/networks

import { exitCodeOf, formatError, NotFoundError } from "../errors.ts";
import { followLog } from "../container/log_follow.ts";
import { findContainer } from "../state/containers.ts";
import * as api from "./api.ts";
import { authorize, COOKIE } from "./auth.ts";
import { StatsFeed } from "./stream.ts";
import { terminalSocket } from "./terminal.ts";

/** What to serve and where. */
export interface UiOptions {
  hostname: string;
  port: number;
  token: string;
  /** Called once listening, with the port bound. */
  onListen?: (port: number) => void;
}

/** A running server. */
export interface UiServer {
  port: number;
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** The page's files, read once: /static/NAME -> body and type. */
function loadStatic(): Map<string, { body: Uint8Array<ArrayBuffer>; type: string }> {
  const dir = new URL("./static/", import.meta.url);
  const out = new Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>();
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(new URL(rel, dir))) {
      const name = `${rel}${e.name}`;
      if (e.isDirectory) walk(`${name}/`);
      else {
        const ext = e.name.split(".").pop() ?? "";
        if (TYPES[ext]) {
          out.set(name, { body: Deno.readFileSync(new URL(name, dir)), type: TYPES[ext]! });
        }
      }
    }
  };
  walk("");
  return out;
}

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );

/** The table rows of the first paint, rendered here so the page shows them before any script. */
function rowsHtml(rows: api.ContainerRow[]): string {
  return rows.map((r) =>
    `<tr data-id="${esc(r.id)}" data-state="${esc(r.state)}"><td class="name"><a href="#/c/${
      esc(r.id)
    }">${esc(r.name)}</a></td><td>${esc(r.id.slice(0, 12))}</td><td>${esc(r.image)}</td><td>${
      esc(r.command)
    }</td><td class="state">${esc(r.status)}</td><td>${esc(r.ports)}</td>` +
    `<td class="spark cpu"></td><td class="spark mem"></td><td class="spark pids"></td><td class="spark io"></td><td class="actions"></td></tr>`
  ).join("\n");
}

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

function headers(extra: Record<string, string> = {}): Headers {
  return new Headers({ ...SECURITY_HEADERS, "cache-control": "no-store", ...extra });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: headers({ "content-type": "application/json; charset=utf-8" }),
  });
}

function errorResponse(e: unknown): Response {
  const status = e instanceof NotFoundError ? 404 : exitCodeOf(e) === 125 ? 400 : 409;
  return json({ error: formatError(e) }, status);
}

const ACTIONS = ["start", "stop", "restart", "pause", "unpause", "rm"] as const;

async function act(action: (typeof ACTIONS)[number], ref: string): Promise<void> {
  const l = await import("../container/lifecycle.ts");
  switch (action) {
    case "start":
      return await l.startExisting(ref);
    case "stop":
      return await l.stopContainer(ref, 10);
    case "restart":
      return await l.restartContainer(ref, 10);
    case "pause":
      return await (await import("../container/pause.ts")).pauseContainer(ref);
    case "unpause":
      return await (await import("../container/pause.ts")).unpauseContainer(ref);
    case "rm":
      return await l.removeContainer(ref, true);
  }
}

/** The log lines of a container as server-sent events, followed until it stops. */
function logStream(ref: string, tail: number): Response {
  const id = findContainer(ref).id;
  const abort = new AbortController();
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      try {
        for await (const lines of followLog(id, tail, abort.signal)) {
          c.enqueue(enc.encode(`event: lines\ndata: ${JSON.stringify(lines)}\n\n`));
        }
        c.enqueue(enc.encode(`event: end\ndata: {}\n\n`));
        c.close();
      } catch { /* the page went away */ }
    },
    cancel() {
      abort.abort();
    },
  });
  return new Response(body, { headers: headers({ "content-type": "text/event-stream" }) });
}

/**
 * Starts serving. Resolves once listening.
 *
 * @example const s = await startUiServer({ hostname: "127.0.0.1", port: 0, token: newToken() });
 */
export function startUiServer(opts: UiOptions): Promise<UiServer> {
  const files = loadStatic();
  const feed = new StatsFeed();
  const index = new TextDecoder().decode(files.get("index.html")!.body);

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const v = authorize(
      { method: req.method, url, headers: req.headers },
      opts.token,
      opts.hostname,
    );
    if (!v.ok) {
      return new Response(`${v.status}: ${v.reason}\n`, {
        status: v.status,
        headers: headers({ "content-type": "text/plain; charset=utf-8" }),
      });
    }
    const path = url.pathname;
    try {
      if (req.method === "POST") {
        const m = /^\/api\/containers\/([^/]+)\/([a-z]+)$/.exec(path);
        const action = m?.[2] as (typeof ACTIONS)[number] | undefined;
        if (!m || !action || !ACTIONS.includes(action)) {
          return json({ error: "no such action" }, 404);
        }
        try {
          await act(action, decodeURIComponent(m[1]!));
        } finally {
          feed.invalidate();
        }
        return json({ ok: true });
      }
      if (path === "/" || path === "/index.html") {
        const h = headers({ "content-type": TYPES.html! });
        if (v.setCookie) {
          h.set("set-cookie", `${COOKIE}=${opts.token}; Path=/; HttpOnly; SameSite=Strict`);
        }
        return new Response(index.replace("<!--ROWS-->", rowsHtml(api.containerRows())), {
          headers: h,
        });
      }
      if (path.startsWith("/static/")) {
        const f = files.get(path.slice("/static/".length));
        if (!f) return json({ error: "not found" }, 404);
        return new Response(f.body, {
          headers: headers({ "content-type": f.type, "cache-control": "private, max-age=3600" }),
        });
      }
      if (path === "/api/session") return json({ token: opts.token });
      if (path === "/api/containers") return json(api.containerRows());
      if (path === "/api/stream") return feed.response(headers());
      if (path === "/api/network") {
        return json(api.networkDiagram(url.searchParams.get("name") ?? undefined));
      }
      if (path === "/api/cgroups") return json(api.cgroups());
      if (path === "/api/images") return json(api.images());
      if (path === "/api/networks") return json(api.networks());
      const m = /^\/api\/containers\/([^/]+)(?:\/(top|logs|terminal))?$/.exec(path);
      if (m) {
        const ref = decodeURIComponent(m[1]!);
        if (m[2] === undefined) return json(api.containerPage(ref));
        if (m[2] === "top") return json(api.containerTop(ref));
        if (m[2] === "logs") return logStream(ref, Number(url.searchParams.get("tail") ?? 200));
        return terminalSocket(req, ref, ["sh"]);
      }
      return json({ error: "not found" }, 404);
    } catch (e) {
      return errorResponse(e);
    }
  };

  const server = Deno.serve(
    { hostname: opts.hostname, port: opts.port, onListen: () => {} },
    handle,
  );
  const port = server.addr.port;
  opts.onListen?.(port);
  return Promise.resolve({
    port,
    finished: server.finished,
    shutdown: async () => {
      feed.close();
      await server.shutdown();
    },
  });
}
