// Who may talk to `tsbox ui`, decided per request (pure: no I/O):
//
//   1. Host header: the address it listens on, or, when that is loopback, any
//      loopback literal or "localhost" (any port, so an SSH forward to another
//      local port works), or, on a wildcard address, any address literal.
//      Anything else is 403: a page of another site whose name resolves to
//      127.0.0.1 (DNS rebinding) sends its own name.
//   2. Token: 256 random bits, from ?token= (the URL tsbox prints), the
//      cookie set on that first visit (HttpOnly, SameSite=Strict), or the
//      X-Tsbox-Token header. Missing or wrong: 401.
//   3. State changes: POST only, with the X-Tsbox-Token header (a cross-site
//      form cannot set it; a cross-site fetch with it needs a CORS preflight,
//      which gets no CORS headers) and no cross-site Origin / Sec-Fetch-Site.
//      WebSocket upgrades carry the token in the URL and a same-origin Origin.
// No response ever carries Access-Control-* headers.

/** A new token: 32 random bytes as 64 hex digits. */
export function newToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The cookie that carries the token after the first visit. */
export const COOKIE = "tsbox_ui";
/** The header a page sends its token in. */
export const TOKEN_HEADER = "x-tsbox-token";

/** Compares two strings in time that depends only on their lengths. */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** Whether `host` (an address or name, no port) is a loopback address or localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host part of a Host header value ("127.0.0.1:8080" -> "127.0.0.1", "[::1]:80" -> "::1"). */
export function hostName(header: string): string {
  const m = /^\[([^\]]*)\](?::\d+)?$/.exec(header);
  if (m) return m[1]!.toLowerCase();
  return header.replace(/:\d+$/, "").toLowerCase();
}

/** Whether `host` is an IPv4 or IPv6 literal (not a name DNS could rebind). */
export function isIpLiteral(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || (h.includes(":") && /^[0-9a-fA-F:.]+$/.test(h));
}

/**
 * Whether a Host header names the server listening on `listenHost`: that
 * address; any loopback name when it is loopback; any address literal when it
 * is a wildcard (0.0.0.0, ::), whose own addresses are not known here.
 */
export function hostAllowed(header: string | null, listenHost: string): boolean {
  if (!header) return false;
  const h = hostName(header);
  const listen = listenHost.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === listen) return true;
  if (isLoopback(listen)) return isLoopback(h);
  return (listen === "0.0.0.0" || listen === "::") && isIpLiteral(h);
}

/** The value of cookie `name` in a Cookie header. */
export function cookie(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

/** What to do with a request. */
export type Verdict =
  | { ok: true; setCookie: boolean }
  | { ok: false; status: 401 | 403 | 405; reason: string };

/** The parts of a request the decision needs. */
export interface RequestFacts {
  method: string;
  url: URL;
  headers: Headers;
}

/**
 * Decides whether `r` may proceed (see the header of this file).
 *
 * @example authorize({ method: "GET", url, headers }, token, "127.0.0.1").ok
 */
export function authorize(r: RequestFacts, token: string, listenHost: string): Verdict {
  if (!hostAllowed(r.headers.get("host"), listenHost)) {
    return { ok: false, status: 403, reason: "this server answers only to its own address" };
  }
  const site = r.headers.get("sec-fetch-site");
  if (site === "cross-site") {
    return { ok: false, status: 403, reason: "cross-site requests are refused" };
  }
  const origin = r.headers.get("origin");
  if (origin !== null && origin !== "null") {
    let o: URL | undefined;
    try {
      o = new URL(origin);
    } catch { /* refused below */ }
    if (!o || !hostAllowed(o.host, listenHost)) {
      return { ok: false, status: 403, reason: "requests from other origins are refused" };
    }
  } else if (origin === "null" && r.method !== "GET") {
    return { ok: false, status: 403, reason: "requests from opaque origins are refused" };
  }
  const fromQuery = r.url.searchParams.get("token") || null;
  const fromHeader = r.headers.get(TOKEN_HEADER) || null;
  const fromCookie = cookie(r.headers.get("cookie"), COOKIE) || null;
  const websocket = (r.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
  if (r.method === "POST") {
    if (!fromHeader || !sameSecret(fromHeader, token)) {
      return { ok: false, status: 401, reason: "a POST needs the token in X-Tsbox-Token" };
    }
    return { ok: true, setCookie: false };
  }
  if (r.method !== "GET" && r.method !== "HEAD") {
    return { ok: false, status: 405, reason: "only GET and POST" };
  }
  if (websocket) {
    if (!fromQuery || !sameSecret(fromQuery, token) || origin === null) {
      return { ok: false, status: 401, reason: "a WebSocket needs the token and its origin" };
    }
    return { ok: true, setCookie: false };
  }
  const given = fromQuery ?? fromHeader ?? fromCookie;
  if (!given || !sameSecret(given, token)) {
    return { ok: false, status: 401, reason: "open the URL `tsbox ui` printed (with its token)" };
  }
  return { ok: true, setCookie: fromQuery !== null };
}
