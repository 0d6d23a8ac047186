import assert from "node:assert/strict";
import { ramInBytes } from "./resources.ts";

Deno.test("ramInBytes reads Docker's sizes and refuses what no number can hold exactly", () => {
  assert.equal(ramInBytes("64m"), 64 * 1024 * 1024);
  assert.equal(ramInBytes("1.5k"), 1536);
  assert.equal(ramInBytes("1g"), 1024 ** 3);
  assert.throws(() => ramInBytes("99999999999999999999999"), /invalid size: '9+': too large/);
  assert.throws(() => ramInBytes("9000p"), /too large/);
  assert.throws(() => ramInBytes("12x"), /invalid size/);
});
