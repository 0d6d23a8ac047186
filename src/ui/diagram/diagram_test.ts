import assert from "node:assert/strict";
import { assembleTopology } from "../../net/topology_model.ts";
import { fixture } from "../../net/topology_model_test.ts";
import { renderDot } from "./dot.ts";
import { renderSvg } from "./svg.ts";
import { MAX_WIDTH, renderText } from "./text.ts";

const t = assembleTopology(fixture());

Deno.test("renderText: every line fits 100 columns and names every veth, address and port", () => {
  for (const ascii of [false, true]) {
    const out = renderText(t, { ascii });
    for (const line of out.split("\n")) {
      assert.ok([...line].length <= MAX_WIDTH, `too wide (${[...line].length}): ${line}`);
    }
    for (
      const s of ["veth1111111", "veth2222222", "veth3333333", "172.17.0.2/16", "0.0.0.0:8080/tcp"]
    ) {
      assert.ok(out.includes(s), `${s} missing:\n${out}`);
    }
    assert.match(
      out,
      /NAPT out tcp\s+172\.17\.0\.3:40000 .. 10\.99\.0\.1:40001 .. 10\.99\.0\.2:9000/,
    );
    assert.match(
      out,
      /DNAT in\s+tcp\s+10\.99\.0\.2:51000 .. 10\.99\.0\.1:8080 .. 172\.17\.0\.2:80/,
    );
    assert.match(out, /isolated from tsbox-1a2b3c4d/);
    if (ascii) assert.ok([...out].every((c) => c.charCodeAt(0) < 128), "--ascii is ASCII only");
  }
});

Deno.test("renderSvg: one element per veth, container and port, with data attributes", () => {
  const svg = renderSvg(t);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const v of ["veth1111111", "veth2222222", "veth3333333"]) {
    assert.ok(svg.includes(`class="veth" data-name="${v}"`), v);
  }
  for (const c of ["web", "client", "db"]) {
    assert.ok(svg.includes(`class="container" data-name="${c}"`));
  }
  assert.ok(svg.includes('data-host-port="8080"'));
  assert.ok(svg.includes('data-host-port="5353"'));
  assert.ok(svg.includes('class="isolation" data-a="tsbox0" data-b="tsbox-1a2b3c4d"'));
  assert.equal((svg.match(/class="translation /g) ?? []).length, 2);
  // Balanced groups (a cheap well-formedness check).
  assert.equal((svg.match(/<g /g) ?? []).length, (svg.match(/<\/g>/g) ?? []).length);
});

Deno.test("renderDot: clusters per namespace, edges for pairs and ports", () => {
  const dot = renderDot(t);
  assert.match(dot, /^digraph tsbox \{/);
  assert.match(dot, /subgraph "cluster_host"/);
  assert.equal((dot.match(/veth pair/g) ?? []).length, 3);
  assert.match(dot, /"port:tcp:0.0.0.0:8080" -> "c:a{64}:eth0"/);
});
