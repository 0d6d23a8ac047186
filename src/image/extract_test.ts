// Unit tests of the pure checks of extract.ts: entry paths, symlink targets,
// device numbers. Extraction itself needs root: see tests/import_safety_test.ts.

import assert from "node:assert/strict";
import { entryParts, makedev, symlinkLeavesRoot } from "./extract.ts";

Deno.test("entryParts drops ./, empty and . components", () => {
  assert.deepEqual(entryParts("./usr//bin/./ls"), ["usr", "bin", "ls"]);
  assert.deepEqual(entryParts("etc/"), ["etc"]);
  assert.deepEqual(entryParts("./"), []);
  assert.deepEqual(entryParts("."), []);
  assert.deepEqual(entryParts("..."), ["..."]);
  assert.deepEqual(entryParts(".wh..wh..opq"), [".wh..wh..opq"]);
});

Deno.test("entryParts refuses absolute paths and .. components", () => {
  assert.throws(() => entryParts("/etc/passwd"), {
    name: "TsboxError",
    message: 'refusing tar entry "/etc/passwd": path is absolute',
  });
  assert.throws(() => entryParts("../../etc/passwd"), {
    message: 'refusing tar entry "../../etc/passwd": path leaves the root',
  });
  assert.throws(() => entryParts("a/../b"), /path leaves the root/);
  assert.throws(() => entryParts("./a/.."), /path leaves the root/);
});

Deno.test("symlinkLeavesRoot resolves relative targets from the link's directory", () => {
  assert.equal(symlinkLeavesRoot(["a", "b"], "../../../etc"), true);
  assert.equal(symlinkLeavesRoot(["a", "b"], "../../etc"), true);
  assert.equal(symlinkLeavesRoot(["a", "b"], "../etc"), false); // a/b -> /etc
  assert.equal(symlinkLeavesRoot(["link"], ".."), true);
  assert.equal(symlinkLeavesRoot(["link"], "."), false);
  assert.equal(symlinkLeavesRoot(["usr", "lib", "x"], "./../../x"), false);
  assert.equal(symlinkLeavesRoot(["usr", "lib", "x"], "sub/../../../../x"), true);
});

Deno.test("symlinkLeavesRoot allows absolute targets, read inside the container", () => {
  assert.equal(symlinkLeavesRoot(["bin", "sh"], "/bin/busybox"), false);
  assert.equal(symlinkLeavesRoot(["x"], "/../../etc"), false);
});

Deno.test("makedev encodes device numbers as the kernel's new_encode_dev", () => {
  assert.equal(makedev(1, 3), 0x103);
  assert.equal(makedev(8, 0), 0x800);
  assert.equal(makedev(259, 0x12345), 0x12310345);
  assert.equal(makedev(4095, 0xfffff), 0xffffffff);
});
