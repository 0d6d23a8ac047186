// tsbox ui: one container's page: its configuration, isolation facts
// (namespaces, ids, capabilities, seccomp, cgroup chain, mounts, network),
// followed logs, top, a terminal (xterm.js, loaded on demand) and the
// waterfall of its last traced start.

import {
  $,
  api,
  card,
  grid,
  h,
  kernelText,
  kv,
  limitsText,
  pageCleanup,
  session,
  src,
} from "./dom.js";
import { actionButtons } from "./containers.js";

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
    }/terminal?token=${session.token}&rows=${term.rows}&cols=${term.cols}`,
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

export async function showContainer(id) {
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
