// tsbox ui: the page. Plain JavaScript, no build step: a hash router over
// six views, a live feed (server-sent events) for the containers table,
// and xterm.js (vendored, loaded only when a terminal opens). The server
// renders the first table rows; this script keeps them current.

const $ = (sel, root = document) => root.querySelector(sel);
const h = (tag, attrs = {}, ...kids) => {
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
const bytes = (n) => {
  if (n === null || n === undefined) return "no limit";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)}${u[i]}`;
};
const lim = (n, f = String) => (n === null || n === undefined ? "no limit" : f(n));

// ---- session ------------------------------------------------------------------

let token = "";
async function api(path, opts = {}) {
  const headers = token ? { "X-Tsbox-Token": token } : {};
  const r = await fetch(path, { ...opts, headers: { ...headers, ...(opts.headers ?? {}) } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error ?? `${r.status} ${r.statusText}`);
  return body;
}
const post = (path) => api(path, { method: "POST" });

// ---- containers table ----------------------------------------------------------

const HISTORY = 60; // samples per sparkline
const series = new Map(); // id -> { cpu: [], mem: [], pids: [], io: [], last }
let rows = [];

function spark(values, max) {
  const w = 80, hgt = 18;
  const top = Math.max(max ?? 0, ...values, 1e-9);
  const pts = values.map((v, i) =>
    `${(i * w / (HISTORY - 1)).toFixed(1)},${(hgt - (v / top) * (hgt - 1)).toFixed(1)}`
  );
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", w);
  svg.setAttribute("height", hgt);
  const pl = document.createElementNS(ns, "polyline");
  pl.setAttribute("points", pts.join(" "));
  pl.setAttribute("fill", "none");
  pl.setAttribute("stroke", "#1a57c6");
  svg.append(pl);
  return svg;
}

function actionButtons(r) {
  const live = r.state === "running" || r.state === "paused";
  const b = (action, label = action) =>
    h("button", {
      "data-action": action,
      onclick: async (ev) => {
        ev.preventDefault();
        const what = action === "rm" && live ? "force-remove (kill) the running container" : action;
        if (!confirm(`${what} ${r.name}?`)) return;
        ev.target.disabled = true;
        try {
          await post(`/api/containers/${encodeURIComponent(r.id)}/${action}`);
        } catch (e) {
          alert(`${action} ${r.name}: ${e.message}`);
        } finally {
          ev.target.disabled = false;
        }
      },
    }, label);
  return [
    !live && b("start"),
    r.state === "running" && b("stop"),
    live && b("restart"),
    r.state === "running" && b("pause"),
    r.state === "paused" && b("unpause"),
    b("rm"),
  ].filter(Boolean);
}

function renderRows() {
  const body = $("#containers tbody");
  const existing = new Map([...body.children].map((tr) => [tr.dataset.id, tr]));
  const keep = new Set();
  for (const r of rows) {
    keep.add(r.id);
    let tr = existing.get(r.id);
    if (!tr) {
      tr = h("tr", { "data-id": r.id });
      for (
        const c of [
          "name",
          "id",
          "image",
          "cmd",
          "state",
          "ports",
          "spark cpu",
          "spark mem",
          "spark pids",
          "spark io",
          "actions",
        ]
      ) {
        tr.append(h("td", { class: c }));
      }
    }
    body.append(tr); // keeps the server's order
    tr.dataset.state = r.state;
    const cells = tr.children;
    cells[0].replaceChildren(h("a", { href: `#/c/${r.id}` }, r.name));
    cells[1].textContent = r.id.slice(0, 12);
    cells[2].textContent = r.image;
    cells[3].textContent = r.command;
    cells[4].textContent = r.status;
    cells[5].textContent = r.ports;
    cells[10].replaceChildren(...actionButtons(r));
    if (r.state !== "running" && r.state !== "paused") {
      for (const i of [6, 7, 8, 9]) cells[i].replaceChildren();
    }
  }
  for (const [id, tr] of existing) {
    if (!keep.has(id)) {
      tr.remove();
      series.delete(id);
    }
  }
}

function renderStats(stats) {
  for (const s of stats) {
    let d = series.get(s.id);
    if (!d) series.set(s.id, d = { cpu: [], mem: [], pids: [], io: [], last: undefined });
    const io = d.last ? Math.max(0, s.blkRead + s.blkWrite + s.netRx + s.netTx - d.last) : 0;
    d.last = s.blkRead + s.blkWrite + s.netRx + s.netTx;
    for (const [k, v] of [["cpu", s.cpu], ["mem", s.mem], ["pids", s.pids], ["io", io]]) {
      d[k].push(v);
      if (d[k].length > HISTORY) d[k].shift();
    }
    const tr = $(`#containers tr[data-id="${s.id}"]`);
    if (!tr) continue;
    const set = (i, values, max, text) =>
      tr.children[i].replaceChildren(spark(values, max), h("span", { class: "v" }, text));
    set(6, d.cpu, 100, `${s.cpu.toFixed(1)}%`);
    set(7, d.mem, s.memLimit, `${bytes(s.mem)} / ${bytes(s.memLimit)}`);
    set(8, d.pids, undefined, String(s.pids));
    set(9, d.io, undefined, `${bytes(io)}/s`);
  }
}

function startFeed() {
  const es = new EventSource("/api/stream");
  es.addEventListener("tick", (ev) => {
    const m = JSON.parse(ev.data);
    if (m.rows) {
      rows = m.rows;
      renderRows();
    }
    if (m.stats) renderStats(m.stats);
    $("#status").textContent = `live · ${new Date(m.t).toLocaleTimeString()}`;
  });
  es.onerror = () => ($("#status").textContent = "reconnecting…");
}

// ---- container page --------------------------------------------------------------

const pageCleanup = [];
function cleanupPage() {
  for (const f of pageCleanup.splice(0)) {
    try {
      f();
    } catch { /* already gone */ }
  }
}

function kv(pairs) {
  return h(
    "table",
    { class: "kv" },
    pairs.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))),
  );
}
function grid(headers, body) {
  return h(
    "table",
    { class: "grid" },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, body.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
  );
}
const src = (s) => h("span", { class: "src" }, `← ${s}`);
const card = (title, ...kids) => h("div", { class: "card" }, h("h3", {}, title), ...kids);

function envList(env) {
  const list = h("div");
  let shown = false;
  const draw = () =>
    list.replaceChildren(...env.map((e) => {
      const i = e.indexOf("=");
      return h(
        "div",
        { class: "mono" },
        e.slice(0, i + 1),
        h("span", { class: shown ? "" : "secret" }, shown ? e.slice(i + 1) : "••••••"),
      );
    }));
  draw();
  return [h("button", { onclick: () => ((shown = !shown), draw()) }, "show/hide values"), list];
}

function limitsText(l) {
  if (!l) return "—";
  return `memory ${lim(l.memory, bytes)}, pids ${lim(l.pids)}, cpus ${lim(l.cpus)}`;
}
function kernelText(k) {
  if (!k) return "—";
  const f = (x, fmt) => (x ? lim(x.value, fmt) : "n/a");
  return `memory ${f(k.memory, bytes)}, pids ${f(k.pids)}, cpus ${f(k.cpus, (c) => c.toFixed(2))}`;
}

function waterfall(trace) {
  const steps = trace.steps;
  const total = Math.max(...steps.map((s) => s.endMs), 0.001);
  return h(
    "div",
    { class: "wf" },
    h(
      "div",
      { class: "muted" },
      `last traced start: ${trace.time}, ${total.toFixed(2)} ms, ${steps.length} steps`,
    ),
    steps.map((s) => {
      const bar = h("span");
      bar.style.left = `${(s.startMs / total) * 100}%`;
      bar.style.width = `${Math.max(((s.endMs - s.startMs) / total) * 100, 0.2)}%`;
      return h(
        "div",
        { class: `row ${s.lane}`, title: s.text },
        h("span", { class: "lane" }, s.lane),
        h("span", { class: "track" }, bar),
        h("span", { class: "ms" }, `${(s.endMs - s.startMs).toFixed(3)}`),
        h(
          "span",
          { class: "txt" },
          s.text,
          s.syscalls ? h("span", { class: "muted" }, `  [${s.syscalls.join(", ")}]`) : "",
          s.result !== undefined ? h("span", { class: "muted" }, ` = ${s.result}`) : "",
        ),
      );
    }),
  );
}

async function openTerminal(id, box) {
  if (!document.querySelector('link[href="/static/vendor/xterm.css"]')) {
    document.head.append(h("link", { rel: "stylesheet", href: "/static/vendor/xterm.css" }));
  }
  const { Terminal } = await import("/static/vendor/xterm.mjs");
  const term = new Terminal({ rows: 20, cols: 100, convertEol: false, fontSize: 13 });
  box.replaceChildren();
  term.open(box);
  const ws = new WebSocket(
    `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/containers/${
      encodeURIComponent(id)
    }/terminal?token=${token}&rows=${term.rows}&cols=${term.cols}`,
  );
  ws.binaryType = "arraybuffer";
  const enc = new TextEncoder();
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") {
      const m = JSON.parse(ev.data);
      if (m.exit !== undefined) term.write(`\r\n[exited with ${m.exit}]\r\n`);
      if (m.error) term.write(`\r\n[${m.error}]\r\n`);
    } else term.write(new Uint8Array(ev.data));
  };
  term.onData((d) => ws.readyState === 1 && ws.send(enc.encode(d)));
  term.onResize(({ rows, cols }) =>
    ws.readyState === 1 && ws.send(JSON.stringify({ resize: [rows, cols] }))
  );
  term.focus();
  pageCleanup.push(() => ws.close(), () => term.dispose());
}

function followLogs(id, pre) {
  const es = new EventSource(`/api/containers/${encodeURIComponent(id)}/logs?tail=200`);
  es.addEventListener("lines", (ev) => {
    for (const l of JSON.parse(ev.data)) pre.append(h("span", { class: l.stream }, l.log));
    while (pre.childNodes.length > 1000) pre.firstChild.remove();
    pre.scrollTop = pre.scrollHeight;
  });
  es.addEventListener("end", () => es.close());
  pageCleanup.push(() => es.close());
}

async function showContainer(id) {
  const view = $("#view-container");
  view.replaceChildren(h("p", { class: "muted" }, "loading…"));
  let p;
  try {
    p = await api(`/api/containers/${encodeURIComponent(id)}`);
  } catch (e) {
    view.replaceChildren(h("p", { class: "error" }, e.message));
    return;
  }
  const ins = p.inspect, ex = p.explain, cfg = ins.Config;
  const running = ex.pid !== null;
  const cards = h("div", { class: "cards" });
  cards.append(card(
    "Config",
    kv([
      ["image", cfg.Image],
      ["command", h("code", {}, JSON.stringify(cfg.Cmd))],
      ["working dir", cfg.WorkingDir],
      ["user", cfg.User || "root"],
      ["hostname", cfg.Hostname],
      ["env", envList(cfg.Env ?? [])],
      ["restart", ins.HostConfig.RestartPolicy.Name],
    ]),
  ));
  if (running) {
    cards.append(
      card(
        "Namespaces",
        grid(
          ["type", "inode", "shared with"],
          ex.namespaces.map((n) => [n.type, h("code", {}, n.link), n.sharedWith]),
        ),
        src(`/proc/${ex.pid}/ns/*`),
      ),
    );
    cards.append(card(
      "Users and capabilities",
      kv([
        ["uid map", h("code", {}, ex.uidMap.join("; ") || "—")],
        ["gid map", h("code", {}, ex.gidMap.join("; ") || "—")],
        [
          "kept",
          h(
            "div",
            {},
            (ex.capabilities?.effective ?? []).map((c) => h("span", { class: "tag" }, c)),
          ),
        ],
        [
          "dropped",
          h(
            "div",
            {},
            (ex.capabilities?.dropped ?? []).map((c) => h("span", { class: "tag drop" }, c)),
          ),
        ],
        [
          "seccomp",
          ex.seccomp
            ? `mode ${ex.seccomp.mode} (${
              ["disabled", "strict", "filter"][ex.seccomp.mode]
            }), ${ex.seccomp.filters} filter(s), no_new_privs ${
              ex.seccomp.noNewPrivs ? "on" : "off"
            }`
            : "—",
        ],
      ]),
      src(`/proc/${ex.pid}/uid_map, gid_map, status`),
    ));
  }
  if (ex.cgroup) {
    cards.append(
      card(
        "cgroup",
        kv([["path", h("code", {}, ex.cgroup.procPath || ex.cgroup.path)]]),
        grid(
          ["level", "requested", "kernel files now"],
          ex.cgroup.levels.map((
            l,
          ) => [h("code", {}, l.path), limitsText(l.requested), kernelText(l.kernel)]),
        ),
        h("p", {}, `in effect: ${limitsText(ex.cgroup.effective)}`),
      ),
    );
  }
  if (ex.mounts) {
    const m = ex.mounts;
    cards.append(card(
      "Mounts",
      kv([
        [
          "root",
          m.root
            ? (m.root.fstype === "overlay"
              ? h(
                "div",
                {},
                m.root.layers.lower.map((l) => h("div", { class: "mono" }, `lower ${l}`)),
                h("div", { class: "mono" }, `upper ${m.root.layers.upper ?? "?"}`),
              )
              : `${m.root.fstype} ${m.root.source}`)
            : "—",
        ],
        [
          "binds",
          h(
            "div",
            {},
            m.binds.map((b) =>
              h("div", { class: "mono" }, `${b.root} → ${b.mountPoint} (${b.options})`)
            ),
          ),
        ],
        ["tmpfs", h("div", {}, m.tmpfs.map((t) => h("div", { class: "mono" }, t.mountPoint)))],
        ["masked", h("div", {}, m.masked.map((x) => h("span", { class: "tag" }, x)))],
        ["read-only", h("div", {}, m.readonly.map((x) => h("span", { class: "tag" }, x)))],
      ]),
      src(`/proc/${ex.pid}/mountinfo`),
    ));
  }
  const ports = Object.entries(ins.NetworkSettings.Ports ?? {}).flatMap(([cp, hs]) =>
    hs.map((x) => `${x.HostIp}:${x.HostPort} → ${cp}`)
  );
  cards.append(
    card(
      "Network and ports",
      h(
        "div",
        {},
        ports.map((x) => h("span", { class: "tag" }, x)),
      ),
      h(
        "ul",
        { class: "facts" },
        ex.facts.filter((f) => f.topic === "network").map((f) =>
          h("li", {}, f.text, src(f.source))
        ),
      ),
    ),
  );
  cards.append(
    card(
      "Isolation, in plain words",
      h(
        "ul",
        { class: "facts" },
        ex.facts.filter((f) => f.topic !== "network").map((f) =>
          h("li", {}, f.text, src(f.source))
        ),
      ),
    ),
  );
  const pre = h("pre", { class: "logs", id: "logs" });
  cards.append(card("Logs (follow)", pre));
  const top = h("div");
  const loadTop = async () => {
    try {
      const procs = await api(`/api/containers/${encodeURIComponent(id)}/top`);
      top.replaceChildren(
        grid(
          ["UID", "PID", "PPID", "STIME", "TTY", "TIME", "CMD"],
          procs.map((r) => [r.uid, String(r.pid), String(r.ppid), r.stime, r.tty, r.time, r.cmd]),
        ),
      );
    } catch (e) {
      top.replaceChildren(h("span", { class: "error" }, e.message));
    }
  };
  if (running) {
    cards.append(card("Processes (top)", h("button", { onclick: loadTop }, "refresh"), top));
    const box = h("div", { id: "terminal" });
    const term = card(
      "Terminal",
      h(
        "button",
        { id: "open-terminal", onclick: () => openTerminal(id, box) },
        "open a shell (exec -it sh)",
      ),
      box,
    );
    term.classList.add("wide");
    cards.prepend(term);
  }
  if (p.trace) {
    const wf = card("Start trace (--trace)", waterfall(p.trace));
    wf.classList.add("wide");
    cards.append(wf);
  }
  view.replaceChildren(
    h(
      "h2",
      {},
      `${p.row.name} `,
      h("span", { class: "muted" }, `${p.row.status} · ${p.row.id.slice(0, 12)}`),
    ),
    h("div", {}, actionButtons(p.row)),
    cards,
  );
  followLogs(id, pre);
  if (running) loadTop();
}

// ---- other views -----------------------------------------------------------------

async function showNetwork() {
  const view = $("#view-network");
  const draw = async () => {
    try {
      const d = await api("/api/network");
      const box = h("div", { class: "diagram" });
      box.innerHTML = d.svg; // our own server's SVG, text escaped there
      const t = d.topology;
      view.replaceChildren(
        h("h2", {}, "Network, as the kernel sees it now"),
        h(
          "p",
          { class: "muted" },
          `${t.bridges.length} bridge(s), ${t.veths.length} veth pair(s), ${t.ports.length} published port(s), ${t.translations.length} live translation(s) · netlink RTM_GETLINK/RTM_GETADDR, nftables ip tsbox, conntrack`,
        ),
        box,
        Object.keys(t.errors).length ? h("p", { class: "error" }, JSON.stringify(t.errors)) : "",
      );
    } catch (e) {
      view.replaceChildren(h("p", { class: "error" }, e.message));
    }
  };
  await draw();
  const timer = setInterval(draw, 3000);
  pageCleanup.push(() => clearInterval(timer));
}

let lastCpu = new Map();
function cgNode(n, prev) {
  const k = n.kernel ?? {};
  const eff = n.effective;
  const memLimit = eff?.memory ?? k.memory?.value ?? null;
  const bar = (used, max) => {
    const b = h("span", { class: "bar" }, h("span"));
    b.firstChild.style.width = `${max ? Math.min(100, (used / max) * 100) : 0}%`;
    return b;
  };
  const cpuNs = k.cpuUsageNs?.value;
  const was = prev.get(n.path);
  const cpu = was && cpuNs !== undefined
    ? ((cpuNs - was.ns) / ((Date.now() - was.t) * 1e6)) * 100
    : 0;
  if (cpuNs !== undefined) lastCpu.set(n.path, { ns: cpuNs, t: Date.now() });
  return h(
    "li",
    {},
    h(
      "div",
      { class: "node", "data-path": n.path },
      h("strong", {}, n.name),
      h("span", { class: "muted" }, `  ${n.kind} · ${n.path}`),
      h("div", { class: "lim" }, `requested: ${limitsText(n.requested)}`),
      h("div", { class: "lim" }, `kernel: ${kernelText(k)}`),
      eff ? h("div", { class: "lim" }, `in effect: ${limitsText(eff)}`) : "",
      h(
        "div",
        { class: "lim" },
        "memory ",
        bar(k.memoryUsage?.value ?? 0, memLimit),
        ` ${bytes(k.memoryUsage?.value ?? 0)} / ${lim(memLimit, bytes)}`,
      ),
      h(
        "div",
        { class: "lim" },
        "pids ",
        bar(k.pidsCurrent?.value ?? 0, k.pids?.value ?? eff?.pids ?? null),
        ` ${k.pidsCurrent?.value ?? 0} / ${lim(k.pids?.value ?? eff?.pids)}`,
      ),
      h(
        "div",
        { class: "lim" },
        "cpu ",
        bar(cpu, (eff?.cpus ?? k.cpus?.value ?? navigator.hardwareConcurrency) * 100),
        ` ${cpu.toFixed(1)}%`,
      ),
    ),
    n.children.length ? h("ul", { class: "tree" }, n.children.map((c) => cgNode(c, prev))) : "",
  );
}

async function showCgroups() {
  const view = $("#view-cgroups");
  const draw = async () => {
    try {
      const prev = lastCpu;
      lastCpu = new Map();
      const root = await api("/api/cgroups");
      view.replaceChildren(
        h("h2", {}, "cgroup tree"),
        h(
          "p",
          { class: "muted" },
          "requested (tsbox records) · kernel (the group's files now) · in effect (tightest along the chain)",
        ),
        h("ul", { class: "tree" }, cgNode(root, prev)),
      );
    } catch (e) {
      view.replaceChildren(h("p", { class: "error" }, e.message));
    }
  };
  await draw();
  const timer = setInterval(draw, 2000);
  pageCleanup.push(() => clearInterval(timer));
}

/** A table of objects: one column per key, nested values as JSON (so new fields, such as layers, show up). */
function objectTable(list, first) {
  const keys = [...new Set([...first, ...list.flatMap((o) => Object.keys(o))])];
  const cell = (
    v,
  ) => (v === null || v === undefined
    ? ""
    : typeof v === "object"
    ? h("code", {}, JSON.stringify(v).slice(0, 300))
    : String(v));
  return grid(keys, list.map((o) => keys.map((k) => cell(k === "size" ? bytes(o[k]) : o[k]))));
}

async function showList(what, first) {
  const view = $(`#view-${what}`);
  try {
    const list = await api(`/api/${what}`);
    view.replaceChildren(
      h("h2", {}, what[0].toUpperCase() + what.slice(1)),
      objectTable(list, first),
    );
  } catch (e) {
    view.replaceChildren(h("p", { class: "error" }, e.message));
  }
}

// ---- router ------------------------------------------------------------------------

function route() {
  cleanupPage();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [, view, arg] = hash.split("/");
  const name = view === "c" ? "container" : view || "containers";
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${name}`;
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("active", a.dataset.view === name);
  }
  if (name === "container") showContainer(decodeURIComponent(arg ?? ""));
  else if (name === "network") showNetwork();
  else if (name === "cgroups") showCgroups();
  else if (name === "images") showList("images", ["names", "id", "created", "size"]);
  else if (name === "networks") {
    showList("networks", ["name", "driver", "bridge", "subnet", "gateway"]);
  }
}

async function main() {
  // The token is in a cookie now: keep it out of the address bar and history.
  if (location.search.includes("token=")) {
    history.replaceState(null, "", location.pathname + location.hash);
  }
  token = (await api("/api/session")).token;
  startFeed();
  addEventListener("hashchange", route);
  route();
}
main().catch((e) => ($("#status").textContent = e.message));
