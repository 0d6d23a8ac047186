import assert from "node:assert/strict";
import { formatCpuList, intersect, parseCpuList } from "./cpulist.ts";

Deno.test("parseCpuList: ranges, singles, duplicates and spaces", () => {
  assert.deepEqual(parseCpuList("0-2,4"), [0, 1, 2, 4]);
  assert.deepEqual(parseCpuList(" 3, 1-2 ,2\n"), [1, 2, 3]);
  assert.deepEqual(parseCpuList(""), []);
});

Deno.test("parseCpuList: bad lists name the list", () => {
  assert.throws(() => parseCpuList("0-"), /invalid CPU list "0-": bad item "0-"/);
  assert.throws(() => parseCpuList("3-1"), /range "3-1" is reversed/);
  assert.throws(() => parseCpuList("a"), /bad item "a"/);
  assert.throws(() => parseCpuList("99999"), /too large/);
});

Deno.test("formatCpuList: collapses runs like the kernel", () => {
  assert.equal(formatCpuList([0, 1, 2, 4]), "0-2,4");
  assert.equal(formatCpuList([5, 3, 4, 9]), "3-5,9");
  assert.equal(formatCpuList([]), "");
  assert.equal(formatCpuList(parseCpuList("0-63")), "0-63");
});

Deno.test("intersect: keeps the order of the first list", () => {
  assert.deepEqual(intersect([0, 1, 2, 3], [3, 1, 7]), [1, 3]);
});
