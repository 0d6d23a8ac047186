// tsbox ui: the containers table, kept current by the live feed
// (server-sent events): rows when they change, figures every second drawn
// as sparklines, and the actions of each row.

import { $, bytes, h, post } from "./dom.js";

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

export function actionButtons(r) {
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

export function startFeed() {
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
