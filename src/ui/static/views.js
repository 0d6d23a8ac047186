// tsbox ui: the network diagram (SVG drawn by the server from the
// kernel's state), the cgroup tree with usage bars, images and networks.

import { $, api, bytes, grid, h, kernelText, lim, limitsText, pageCleanup } from "./dom.js";

export async function showNetwork() {
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

export async function showCgroups() {
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

export async function showList(what, first) {
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
