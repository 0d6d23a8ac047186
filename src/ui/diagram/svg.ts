// The network topology as SVG (`tsbox network diagram --format svg` and the
// network page of `tsbox ui`). Pure: it lays out a Topology in rows:
//
//   ┌ host network namespace net:[...] ───────────────────────────────────┐
//   │ [lo] [eth0 10.0.0.5/24]                          interfaces          │
//   │        (0.0.0.0:8080/tcp)                        published ports     │
//   │ [bridge tsbox0 172.17.0.1/16]   [bridge tsbox-1a2b3c4d ...]  ✕       │
//   │   (vethaaaa)  (vethbbbb)          (vethcccc)     veth host ends      │
//   └──────┼───────────┼─────────────────┼──────────────────────────────────┘
//   [web net:[..] eth0 172.17.0.2] [db ...] [cache ...]   container namespaces
//   NAPT out / DNAT in rows from conntrack
//
// Every element has a class and data-* attributes naming what it shows, so
// tests and the page can find a veth, a port or a container by name.

import type { TopoBridge, Topology, TopoTranslation } from "../../net/topology_model.ts";

const esc = (s: string | number) =>
  String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");

const COL = 210; // one container column
const GAP = 40; // between bridges
const M = 20; // margin
const Y = {
  interfaces: 56,
  ports: 118,
  bridges: 190,
  veths: 272,
  hostBottom: 322,
  containers: 352,
  containerH: 96,
  translations: 484,
};

function text(x: number, y: number, s: string, cls = "", anchor = "start"): string {
  return `<text x="${x}" y="${y}" class="${cls}" text-anchor="${anchor}">${esc(s)}</text>`;
}

function translationRow(x: TopoTranslation): string {
  const who = x.containerName ? `  (${x.containerName}${x.state ? `, ${x.state}` : ""})` : "";
  return x.kind === "snat"
    ? `NAPT out ${x.proto}  ${x.container} → ${x.host} → ${x.peer}${who}`
    : `DNAT in  ${x.proto}  ${x.peer} → ${x.host} ⇒ ${x.container}${who}`;
}

/**
 * The topology as one standalone SVG document (no scripts). Its <style> may be left out
 * (`style: false`) where the page's stylesheet has the same rules (tsbox ui, whose CSP
 * refuses inline styles).
 *
 * @example Deno.writeTextFileSync("net.svg", renderSvg(t))
 */
export function renderSvg(t: Topology, opts: { style?: boolean } = {}): string {
  // Horizontal layout: each bridge spans one column per veth on it.
  const layout: { b: TopoBridge; x: number; w: number }[] = [];
  let x = M + 10;
  for (const b of t.bridges) {
    const n = Math.max(1, t.veths.filter((v) => v.host.bridge === b.name).length);
    const w = Math.max(n * COL - 20, 330);
    layout.push({ b, x, w });
    x += w + GAP;
  }
  const ifW = 180;
  const labelW = (p: Topology["ports"][number]) =>
    `${p.hostIp}:${p.hostPort}/${p.proto} → ${p.containerIp}:${p.containerPort}`.length * 6.7 + 12;
  const widestPort = Math.max(0, ...t.ports.map(labelW));
  const width = Math.max(
    x + M + widestPort / 2,
    M * 2 + 20 + t.interfaces.length * (ifW + 10),
    M * 3 + 20 + widestPort,
    760,
  );
  const rows = Math.max(1, t.translations.length);
  const height = Y.translations + 30 + rows * 18 + M;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    opts.style === false
      ? ""
      : `<style>.h{font-weight:bold}.s{fill:#555}.port{fill:#b35900}.drop{fill:#c00}` +
        `rect.box{fill:#fff;stroke:#333}rect.br{fill:#e8f0fe;stroke:#1a57c6}` +
        `rect.veth{fill:#eef7ee;stroke:#2a7a2a}rect.ctr{fill:#fff8e5;stroke:#8a6100}` +
        `rect.ns{fill:none;stroke:#888;stroke-dasharray:6 4}</style>`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b35900"/></marker></defs>`,
  );
  // The host namespace.
  o.push(
    `<g class="netns host" data-inode="${t.netns.inode}">`,
    `<rect class="ns" x="${M}" y="24" width="${width - 2 * M}" height="${
      Y.hostBottom - 24
    }" rx="8"/>`,
    text(M + 8, 40, `host network namespace net:[${t.netns.inode}] (${t.netns.path})`, "h"),
    `</g>`,
  );
  t.interfaces.forEach((l, i) => {
    const ix = M + 10 + i * (ifW + 10);
    o.push(
      `<g class="iface" data-name="${esc(l.name)}"><title>RTM_GETLINK ${
        esc(l.name)
      } ifindex ${l.index}</title>`,
      `<rect class="box" x="${ix}" y="${Y.interfaces - 8}" width="${ifW}" height="38" rx="4"/>`,
      text(ix + 6, Y.interfaces + 6, `${l.name}${l.up ? "" : " (down)"}`, "h"),
      text(ix + 6, Y.interfaces + 21, l.addresses.join(" ") || (l.mac ?? ""), "s"),
      `</g>`,
    );
  });
  // Bridges, their veth host ends, and the containers below.
  const centers = new Map<string, number>(); // container id -> column center
  for (const { b, x: bx, w } of layout) {
    o.push(
      `<g class="bridge" data-name="${esc(b.name)}"${
        b.network ? ` data-network="${esc(b.network)}"` : ""
      }><title>RTM_GETLINK ${esc(b.name)} kind bridge ifindex ${b.index}</title>`,
      `<rect class="br" x="${bx}" y="${Y.bridges}" width="${w}" height="46" rx="4"/>`,
      text(
        bx + 8,
        Y.bridges + 17,
        `bridge ${b.name}${b.network ? `  (network ${b.network})` : ""}`,
        "h",
      ),
      text(
        bx + 8,
        Y.bridges + 34,
        `${b.addresses.join(" ") || "no address"}${b.subnet ? `  subnet ${b.subnet}` : ""}`,
        "s",
      ),
      `</g>`,
    );
    const veths = t.veths.filter((v) => v.host.bridge === b.name);
    veths.forEach((v, i) => {
      const cx = bx + i * COL + (COL - 20) / 2;
      o.push(
        `<g class="veth" data-name="${esc(v.host.name)}"${
          v.peer ? ` data-peer="${esc(v.peer.name)}" data-container="${esc(v.peer.container)}"` : ""
        }><title>veth pair: ${
          esc(v.host.name)
        } (ifindex ${v.host.index}, net:[${v.host.netns.inode}])${
          v.peer
            ? ` ⇄ ${esc(v.peer.name)} (ifindex ${v.peer.index}, net:[${v.peer.netns.inode}])`
            : ""
        }</title>`,
        `<line x1="${cx}" y1="${Y.bridges + 46}" x2="${cx}" y2="${
          Y.veths - 12
        }" stroke="#2a7a2a"/>`,
        `<rect class="veth" x="${cx - 80}" y="${Y.veths - 12}" width="160" height="26" rx="13"/>`,
        text(cx, Y.veths + 5, `${v.host.name}${v.host.up ? "" : " (down)"}`, "", "middle"),
      );
      if (v.peer) {
        o.push(
          `<line x1="${cx}" y1="${
            Y.veths + 14
          }" x2="${cx}" y2="${Y.containers}" stroke="#2a7a2a" stroke-width="2"/>`,
          text(cx + 6, Y.hostBottom + 16, "veth pair", "s"),
        );
        centers.set(v.peer.containerId, cx);
      }
      o.push(`</g>`);
    });
  }
  // Isolation between neighbouring tsbox bridges.
  for (const [a, b] of t.isolated) {
    const la = layout.find((l) => l.b.name === a), lb = layout.find((l) => l.b.name === b);
    if (!la || !lb) continue;
    const left = la.x < lb.x ? la : lb, right = la.x < lb.x ? lb : la;
    const mx = (left.x + left.w + right.x) / 2;
    o.push(
      `<g class="isolation" data-a="${esc(a)}" data-b="${
        esc(b)
      }"><title>nft ip tsbox forward: iifname ${esc(a)} oifname "tsbox*" drop</title>`,
      text(mx, Y.bridges + 22, "✕", "drop h", "middle"),
      text(mx, Y.bridges + 36, "drop", "drop", "middle"),
      `</g>`,
    );
  }
  // Containers: one box per namespace, under its veth.
  let spare = M + 10;
  for (const c of t.containers) {
    const cx = centers.get(c.id) ?? (spare += COL) - COL + (COL - 20) / 2;
    const bx = cx - (COL - 20) / 2;
    const e = c.eth0;
    o.push(
      `<g class="container" data-name="${esc(c.name)}" data-id="${
        esc(c.id)
      }" data-inode="${c.netns.inode}"><title>${esc(c.netns.path)}</title>`,
      `<rect class="ctr" x="${bx}" y="${Y.containers}" width="${
        COL - 20
      }" height="${Y.containerH}" rx="6"/>`,
      text(bx + 8, Y.containers + 16, c.name, "h"),
      text(bx + 8, Y.containers + 31, `net:[${c.netns.inode}] pid ${c.pid}`, "s"),
      text(bx + 8, Y.containers + 52, e ? `${e.name} ${e.addresses.join(" ")}` : "no veth", ""),
      text(bx + 8, Y.containers + 67, e?.mac ?? "", "s"),
      `</g>`,
    );
    if (!centers.has(c.id)) centers.set(c.id, cx);
  }
  // Published ports: a label in the host namespace, an arrow to the container.
  const stacked = new Map<string, number>(); // label rows per container column
  let free = M + 20;
  for (const p of t.ports) {
    const target = t.containers.find((c) => c.name === p.container);
    const cx = target ? centers.get(target.id) : undefined;
    const w = labelW(p);
    const lx = Math.min(
      Math.max(M + 20, cx !== undefined ? cx - w / 2 : (free += w + 10) - w - 10),
      width - M - w,
    );
    const col = String(cx ?? lx);
    const k = stacked.get(col) ?? 0;
    stacked.set(col, k + 1);
    const ly = Y.ports + k * 22;
    const label = `${p.hostIp}:${p.hostPort}/${p.proto} → ${p.containerIp}:${p.containerPort}`;
    o.push(
      `<g class="port" data-host-port="${p.hostPort}" data-proto="${
        esc(p.proto)
      }" data-container-port="${p.containerPort}"${
        p.container ? ` data-container="${esc(p.container)}"` : ""
      }><title>nft ip tsbox chain ports handle ${p.rule.handle}: dnat to ${
        esc(p.containerIp)
      }:${p.containerPort}</title>`,
      `<rect x="${lx - 10}" y="${
        ly - 13
      }" width="${w}" height="18" rx="9" fill="#fff3e6" stroke="#b35900"/>`,
      text(lx - 4, ly, label, "port"),
    );
    if (cx !== undefined) {
      o.push(
        `<path d="M${cx + 40},${ly + 5} C${cx + 60},${Y.bridges} ${cx + 60},${Y.veths} ${
          cx + 60
        },${Y.containers}" fill="none" stroke="#b35900" stroke-dasharray="4 3" marker-end="url(#arrow)"/>`,
      );
    }
    o.push(`</g>`);
  }
  // Live translations.
  o.push(text(M, Y.translations, "Live translations (conntrack orig/reply tuples)", "h"));
  if (!t.translations.length) o.push(text(M + 10, Y.translations + 20, "none", "s"));
  t.translations.forEach((x, i) => {
    o.push(
      `<g class="translation ${x.kind}" data-kind="${x.kind}" data-container="${
        esc(x.container)
      }" data-host="${esc(x.host)}" data-peer="${esc(x.peer)}"><title>orig ${esc(x.orig.src)}:${
        x.orig.sport ?? ""
      } → ${esc(x.orig.dst)}:${x.orig.dport ?? ""}, reply ${esc(x.reply.src)}:${
        x.reply.sport ?? ""
      } → ${esc(x.reply.dst)}:${x.reply.dport ?? ""}</title>`,
      text(
        M + 10,
        Y.translations + 20 + i * 18,
        translationRow(x),
        x.kind === "snat" ? "" : "port",
      ),
      `</g>`,
    );
  });
  o.push(`</svg>`);
  return o.join("\n");
}
