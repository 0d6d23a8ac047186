// tsbox ui, shared by the page's modules: DOM building, number formats,
// the JSON API with the session token, and the current view's cleanups.

export const $ = (sel, root = document) => root.querySelector(sel);
export const h = (tag, attrs = {}, ...kids) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== undefined && k !== null) el.append(k);
  return el;
};
export const bytes = (n) => {
  if (n === null || n === undefined) return "no limit";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)}${u[i]}`;
};
export const lim = (n, f = String) => (n === null || n === undefined ? "no limit" : f(n));

/** The session token (for POSTs and the terminal's WebSocket), from /api/session. */
export const session = { token: "" };

/** A JSON document of the API; throws the server's error text. */
export async function api(path, opts = {}) {
  const headers = session.token ? { "X-Tsbox-Token": session.token } : {};
  const r = await fetch(path, { ...opts, headers: { ...headers, ...(opts.headers ?? {}) } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error ?? `${r.status} ${r.statusText}`);
  return body;
}
export const post = (path) => api(path, { method: "POST" });

/** What to undo when the view changes (timers, streams, sockets). */
export const pageCleanup = [];
export function cleanupPage() {
  for (const f of pageCleanup.splice(0)) {
    try {
      f();
    } catch { /* already gone */ }
  }
}

export function kv(pairs) {
  return h(
    "table",
    { class: "kv" },
    pairs.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))),
  );
}
export function grid(headers, body) {
  return h(
    "table",
    { class: "grid" },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, body.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
  );
}
export const src = (s) => h("span", { class: "src" }, `← ${s}`);
export const card = (title, ...kids) => h("div", { class: "card" }, h("h3", {}, title), ...kids);
export function limitsText(l) {
  if (!l) return "—";
  return `memory ${lim(l.memory, bytes)}, pids ${lim(l.pids)}, cpus ${lim(l.cpus)}`;
}
export function kernelText(k) {
  if (!k) return "—";
  const f = (x, fmt) => (x ? lim(x.value, fmt) : "n/a");
  return `memory ${f(k.memory, bytes)}, pids ${f(k.pids)}, cpus ${f(k.cpus, (c) => c.toFixed(2))}`;
}
