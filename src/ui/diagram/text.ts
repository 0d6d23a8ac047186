// The network topology as a terminal drawing (`tsbox network diagram`):
// Unicode box drawing (or ASCII with --ascii) that fits 100 columns. Pure:
// it renders a Topology (src/net/topology_model.ts) and reads nothing.

import type { TopoBridge, Topology, TopoTranslation } from "../../net/topology_model.ts";

/** The characters of one drawing style. */
interface Glyphs {
  tl: string;
  tr: string;
  bl: string;
  br: string;
  h: string;
  v: string;
  arrow: string;
  dnat: string;
  pair: string;
  cross: string;
  dot: string;
  more: string;
}

const UNICODE: Glyphs = {
  tl: "┌",
  tr: "┐",
  bl: "└",
  br: "┘",
  h: "─",
  v: "│",
  arrow: "─▶",
  dnat: "═▶",
  pair: "══",
  cross: "✕",
  dot: "·",
  more: "…",
};
const ASCII: Glyphs = {
  tl: "+",
  tr: "+",
  bl: "+",
  br: "+",
  h: "-",
  v: "|",
  arrow: "->",
  dnat: "=>",
  pair: "==",
  cross: "x",
  dot: "-",
  more: "~",
};

/** The widest drawing: every line is at most this many columns. */
export const MAX_WIDTH = 100;

/** Cuts `s` to `n` columns (one column per code point; the drawing uses no wide characters). */
function fit(s: string, n: number, more: string): string {
  const cps = [...s];
  return cps.length <= n ? s + " ".repeat(n - cps.length) : cps.slice(0, n - 1).join("") + more;
}

function len(s: string): number {
  return [...s].length;
}

function box(title: string, lines: string[], g: Glyphs, width: number): string[] {
  const inner = width - 2;
  const head = `${g.h} ${title} `;
  const top = g.tl +
    (len(head) >= inner ? fit(head, inner, g.more) : head + g.h.repeat(inner - len(head))) + g.tr;
  return [
    top,
    ...lines.map((l) => `${g.v} ${fit(l, inner - 2, g.more)} ${g.v}`),
    g.bl + g.h.repeat(inner) + g.br,
  ];
}

const ns = (inode: number) => `net:[${inode}]`;

function bridgeBox(t: Topology, b: TopoBridge, g: Glyphs): string[] {
  const d = ` ${g.dot} `;
  const title = `bridge ${b.name}${b.network ? `${d}network "${b.network}"` : ""}${d}${
    b.addresses.join(", ") || "no address"
  }${b.subnet ? `${d}subnet ${b.subnet}` : ""}${b.up ? "" : `${d}DOWN`}`;
  const lines: string[] = [];
  const veths = t.veths.filter((v) => v.host.bridge === b.name);
  if (!veths.length) lines.push("(no ports)");
  else lines.push(`host end, in ${ns(t.netns.inode)}       container end`);
  for (const v of veths) {
    const left = `${v.host.name}${v.host.up ? "" : " (down)"}`;
    if (!v.peer) {
      lines.push(`${left.padEnd(16)} ${g.pair} ? (peer in a namespace tsbox does not know)`);
      continue;
    }
    const p = v.peer;
    lines.push(
      `${left.padEnd(16)} ${g.pair}${g.h}${g.h} ${p.name} of ${p.container}  ${
        p.addresses.join(",") || "no address"
      }  ${p.mac ?? ""}`,
    );
    lines.push(`${" ".repeat(21)}in ${ns(p.netns.inode)} (${p.netns.path})`);
  }
  return box(title, lines, g, MAX_WIDTH);
}

function translationLine(x: TopoTranslation, g: Glyphs): string {
  const who = x.containerName ? `  ${x.containerName}` : "";
  const state = x.state ? ` ${x.state}` : "";
  if (x.kind === "snat") {
    return `NAPT out ${
      x.proto.padEnd(4)
    } ${x.container} ${g.arrow} ${x.host} ${g.arrow} ${x.peer}${who}${state}`;
  }
  return `DNAT in  ${
    x.proto.padEnd(4)
  } ${x.peer} ${g.arrow} ${x.host} ${g.dnat} ${x.container}${who}${state}`;
}

/**
 * Draws the topology as lines of at most 100 columns.
 *
 * @example console.log(renderText(readTopology(running), { ascii: false }))
 */
export function renderText(t: Topology, opts: { ascii?: boolean } = {}): string {
  const ascii = opts.ascii ?? false;
  const g = ascii ? ASCII : UNICODE;
  let out: string[] = [];
  out.push(`Host network namespace ${ns(t.netns.inode)} (${t.netns.path})`);
  out.push("");
  out.push(" Interfaces (RTM_GETLINK, RTM_GETADDR)");
  for (const l of t.interfaces) {
    out.push(
      `   ${l.name.padEnd(16)} ${(l.addresses.join(", ") || "-").padEnd(34)} ${
        l.up ? "up" : "down"
      }${l.mac && l.mac !== "00:00:00:00:00:00" ? `  ${l.mac}` : ""}`,
    );
  }
  out.push("");
  for (const b of t.bridges) {
    out.push(...bridgeBox(t, b, g));
    const apart = t.isolated.filter(([x, y]) => x === b.name || y === b.name)
      .map(([x, y]) => (x === b.name ? y : x));
    if (apart.length) {
      out.push(
        `   ${g.cross} isolated from ${apart.join(", ")} (nft ip tsbox forward: drop, handle ${
          b.isolation.map((i) => i.handle).join(",")
        })`,
      );
    }
    out.push("");
  }
  out.push(" Published ports (nft ip tsbox chain ports)");
  if (!t.ports.length) out.push("   none");
  for (const p of t.ports) {
    out.push(
      `   ${`${p.hostIp}:${p.hostPort}/${p.proto}`.padEnd(24)} ${g.arrow} ${
        `${p.containerIp}:${p.containerPort}`.padEnd(22)
      } ${(p.container ?? "?").padEnd(20)} handle ${p.rule.handle}`,
    );
  }
  out.push("");
  out.push(" Live translations (conntrack: orig and reply tuples)");
  if (!t.translations.length) out.push("   none");
  for (const x of t.translations) out.push(`   ${translationLine(x, g)}`);
  for (const [what, err] of Object.entries(t.errors)) out.push(` ! ${what}: ${err}`);
  out = out.map((l) => (len(l) > MAX_WIDTH ? fit(l, MAX_WIDTH, g.more) : l.trimEnd()));
  return out.join("\n");
}
