// The network topology in Graphviz DOT (`tsbox network diagram --format
// dot`): one cluster per network namespace, the bridge and its veth ports in
// the host's, each container's eth0 in its own; published ports and live
// translations as labelled edges. Pure: it renders a Topology.

import type { Topology } from "../../net/topology_model.ts";

const q = (s: string) => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
const id = (...parts: (string | number)[]) => q(parts.join(":"));

/**
 * The topology as a DOT digraph.
 *
 * @example Deno.writeTextFileSync("net.dot", renderDot(t)) // then: dot -Tpng net.dot
 */
export function renderDot(t: Topology): string {
  const out: string[] = [
    "digraph tsbox {",
    "  rankdir=TB;",
    '  node [shape=box, fontname="monospace", fontsize=10];',
    '  edge [fontname="monospace", fontsize=9];',
    `  subgraph "cluster_host" {`,
    `    label=${q(`host network namespace net:[${t.netns.inode}]`)};`,
  ];
  for (const l of t.interfaces) {
    out.push(`    ${id("if", l.name)} [label=${q(`${l.name}\\n${l.addresses.join("\\n")}`)}];`);
  }
  for (const b of t.bridges) {
    const label = [`bridge ${b.name}`, ...b.addresses, b.network ? `network ${b.network}` : ""]
      .filter(Boolean).join("\\n");
    out.push(`    ${id("br", b.name)} [shape=box3d, label=${q(label)}];`);
  }
  for (const v of t.veths) {
    out.push(`    ${id("veth", v.host.name)} [shape=ellipse, label=${q(v.host.name)}];`);
    if (v.host.bridge) out.push(`    ${id("br", v.host.bridge)} -> ${id("veth", v.host.name)};`);
  }
  out.push("  }");
  for (const c of t.containers) {
    out.push(`  subgraph ${q(`cluster_${c.id}`)} {`);
    out.push(`    label=${q(`${c.name} net:[${c.netns.inode}]`)};`);
    for (const l of c.links) {
      const label = [l.name, ...l.addresses, l.mac ?? ""].filter(Boolean).join("\\n");
      out.push(`    ${id("c", c.id, l.name)} [shape=ellipse, label=${q(label)}];`);
    }
    out.push("  }");
  }
  for (const v of t.veths) {
    if (!v.peer) continue;
    out.push(
      `  ${id("veth", v.host.name)} -> ${
        id("c", v.peer.containerId, v.peer.name)
      } [dir=both, style=bold, label="veth pair"];`,
    );
  }
  for (const p of t.ports) {
    const target = t.containers.find((c) => c.name === p.container);
    const to = target?.eth0 ? id("c", target.id, target.eth0.name) : q(p.containerIp);
    out.push(
      `  ${id("port", p.proto, p.hostIp, p.hostPort)} [shape=cds, label=${
        q(`${p.hostIp}:${p.hostPort}/${p.proto}`)
      }];`,
    );
    out.push(
      `  ${id("port", p.proto, p.hostIp, p.hostPort)} -> ${to} [color=orange, label=${
        q(`DNAT ${p.containerIp}:${p.containerPort}`)
      }];`,
    );
  }
  for (const [a, b] of t.isolated) {
    out.push(
      `  ${id("br", a)} -> ${id("br", b)} [dir=none, style=dashed, color=red, label="drop"];`,
    );
  }
  for (const [i, x] of t.translations.entries()) {
    out.push(
      `  ${id("ct", i)} [shape=note, label=${
        q(`${
          x.kind === "snat" ? "NAPT" : "DNAT"
        } ${x.proto}\\n${x.container} <-> ${x.host}\\npeer ${x.peer}`)
      }];`,
    );
  }
  out.push("}");
  return out.join("\n");
}
