import assert from "node:assert/strict";
import { compileTemplate } from "./template.ts";

const data = { State: { Status: "running", Pid: 42 }, Names: ["a", "b"], Labels: { app: "web" } };

Deno.test("compileTemplate renders fields, json, index and join", () => {
  assert.equal(compileTemplate("{{.State.Status}} {{.State.Pid}}").render(data), "running 42");
  assert.equal(compileTemplate("{{json .State}}").render(data), '{"Status":"running","Pid":42}');
  assert.equal(compileTemplate('{{index .Labels "app"}}').render(data), "web");
  assert.equal(compileTemplate('{{join .Names ","}}').render(data), "a,b");
  assert.equal(compileTemplate("{{.Missing}}").render(data), "<no value>");
});

Deno.test("compileTemplate recognises table and escapes", () => {
  const t = compileTemplate("table {{.State.Status}}\\t{{.State.Pid}}");
  assert.equal(t.table, true);
  assert.equal(t.render(data), "running\t42");
});

Deno.test("compileTemplate rejects unknown functions", () => {
  assert.throws(() => compileTemplate("{{nope .X}}").render(data), /not defined/);
});
