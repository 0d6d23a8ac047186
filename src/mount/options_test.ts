import assert from "node:assert/strict";
import { checkTmpfsOptions, parseMountOptions } from "./options.ts";

Deno.test("checkTmpfsOptions takes mount flags and tmpfs's own options with good values", () => {
  checkTmpfsOptions(["size=64m", "mode=1777", "noexec", "rw", "uid=1000", "nr_inodes=10k"]);
  checkTmpfsOptions(["size=50%", "huge=within_size", "noswap", "rprivate"]);
  checkTmpfsOptions([]);
});

Deno.test("checkTmpfsOptions names what the kernel would only call EINVAL", () => {
  assert.throws(() => checkTmpfsOptions(["size=abc"]), /invalid value for tmpfs option "size=abc"/);
  assert.throws(() => checkTmpfsOptions(["bogus"]), /unknown tmpfs option "bogus"/);
  assert.throws(() => checkTmpfsOptions(["mode=999999"]), /invalid value .*"mode=999999"/);
  assert.throws(() => checkTmpfsOptions(["mode=0789"]), /invalid value/);
  assert.throws(() => checkTmpfsOptions(["size"]), /invalid value for tmpfs option "size"/);
  assert.throws(() => checkTmpfsOptions(["remount"]), /not for a new tmpfs/);
});

Deno.test("parseMountOptions keeps tmpfs data apart from flags", () => {
  const p = parseMountOptions(["nosuid", "size=1m", "mode=755"]);
  assert.equal(p.data, "size=1m,mode=755");
});
