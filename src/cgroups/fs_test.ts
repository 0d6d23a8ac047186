import assert from "node:assert/strict";
import { SyscallError } from "../../ffi/syscall.ts";
import { addFiles, makeFixture, read, removeFixture } from "./fixture_testutil.ts";
import {
  dirsLeafFirst,
  mkdirOne,
  parseFlatKeyed,
  parseNestedKeyed,
  parsePids,
  pollUntil,
  readText,
  rmdirOne,
  tryReadText,
  writeCommand,
  writeValue,
} from "./fs.ts";

Deno.test("writeValue replaces, writeCommand appends one line per command", () => {
  const root = makeFixture({ "g/memory.max": "max\n", "g/io.max": "" });
  try {
    writeValue(`${root}/g/memory.max`, "1048576");
    assert.equal(read(root, "g/memory.max"), "1048576");
    writeCommand(`${root}/g/io.max`, "8:0 rbps=1");
    writeCommand(`${root}/g/io.max`, "8:16 wbps=2\n");
    assert.equal(read(root, "g/io.max"), "8:0 rbps=1\n8:16 wbps=2\n");
    assert.equal(readText(`${root}/g/io.max`), "8:0 rbps=1\n8:16 wbps=2\n");
  } finally {
    removeFixture(root);
  }
});

Deno.test("writeValue: a failure names the file and the errno", () => {
  const root = makeFixture({});
  try {
    assert.throws(
      () => writeValue(`${root}/nope/pids.max`, "5"),
      (e: unknown) =>
        e instanceof SyscallError &&
        e.message === `openat "${root}/nope/pids.max": ENOENT (No such file or directory)`,
    );
    assert.equal(tryReadText(`${root}/nope`), undefined);
  } finally {
    removeFixture(root);
  }
});

Deno.test('writeValue: a refused write reads `write "PATH": ERRNO`', () => {
  // /proc/self/oom_score_adj refuses values outside -1000..1000 with EINVAL.
  assert.throws(
    () => writeValue("/proc/self/oom_score_adj", "5000"),
    (e: unknown) =>
      e instanceof SyscallError &&
      e.message === 'write "/proc/self/oom_score_adj": EINVAL (Invalid argument)',
  );
});

Deno.test("mkdirOne, dirsLeafFirst, rmdirOne", () => {
  const root = makeFixture({});
  try {
    assert.equal(mkdirOne(`${root}/a`), true);
    assert.equal(mkdirOne(`${root}/a`), false);
    addFiles(root, { "a/b/c/": "", "a/d/": "" });
    assert.deepEqual(dirsLeafFirst(`${root}/a`).map((d) => d.slice(root.length)), [
      "/a/b/c",
      "/a/b",
      "/a/d",
      "/a",
    ]);
    for (const d of dirsLeafFirst(`${root}/a`)) assert.equal(rmdirOne(d), 0);
    assert.equal(rmdirOne(`${root}/a`), 0, "missing is fine");
    assert.deepEqual(dirsLeafFirst(`${root}/a`), []);
  } finally {
    removeFixture(root);
  }
});

Deno.test("parsers: flat keyed, nested keyed, pids", () => {
  assert.deepEqual(
    [...parseFlatKeyed("usage_usec 12\nnr_periods 0\nbad\nname x\n")],
    [["usage_usec", 12], ["nr_periods", 0]],
  );
  const io = parseNestedKeyed("8:0 rbytes=10 wbytes=20 rios=1\n8:16 rbytes=5\n");
  assert.equal(io.get("8:0")?.get("wbytes"), "20");
  assert.equal(io.get("8:16")?.get("rbytes"), "5");
  assert.deepEqual(parsePids("12\n345\n\n"), [12, 345]);
});

Deno.test("pollUntil: resolves once true, times out with the task's name", async () => {
  let n = 0;
  await pollUntil(() => ++n > 3, "count", 1000);
  assert.equal(n, 4);
  await assert.rejects(
    pollUntil(() => false, "wait for nothing", 30),
    /wait for nothing: timed out after 30 ms/,
  );
});
