import assert from "node:assert/strict";
import { Decoded, encode, MapValue } from "./proto.ts";

Deno.test("encode: varints, strings, nested messages, maps and repeated fields, byte-exact", () => {
  // {1: 150} is the encoding guide's example: 08 96 01.
  assert.deepEqual([...encode({ 1: 150 })], [0x08, 0x96, 0x01]);
  assert.deepEqual([...encode({ 2: "testing" })], [
    0x12,
    0x07,
    ...new TextEncoder().encode("testing"),
  ]);
  assert.deepEqual([...encode({ 3: { 1: 150 } })], [0x1a, 0x03, 0x08, 0x96, 0x01]);
  assert.deepEqual([...encode({ 1: 0, 2: "", 3: false })], [], "defaults are omitted");
  assert.deepEqual([...encode({ 4: ["a", "b"] })], [0x22, 1, 0x61, 0x22, 1, 0x62]);
  assert.deepEqual([...encode({ 6: new MapValue({ k: "v" }) })], [
    0x32,
    6,
    0x0a,
    1,
    0x6b,
    0x12,
    1,
    0x76,
  ]);
});

Deno.test("Decoded reads what encode wrote", () => {
  const d = new Decoded(
    encode({ 1: "id", 3: 7n, 5: { 1: "10.0.0.2" }, 6: [{ 1: "x" }, { 1: "y" }] }),
  );
  assert.equal(d.str(1), "id");
  assert.equal(d.int(3), 7n);
  assert.equal(d.msg(5).str(1), "10.0.0.2");
  assert.deepEqual(d.msgs(6).map((m) => m.str(1)), ["x", "y"]);
  assert.equal(d.str(9), "");
});
