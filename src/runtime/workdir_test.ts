import assert from "node:assert/strict";
import { checkWorkdir, normalizeAbsolute } from "./workdir.ts";

Deno.test("normalizeAbsolute resolves . and .. lexically", () => {
  assert.equal(normalizeAbsolute("/a/./b//c/.."), "/a/b");
  assert.equal(normalizeAbsolute("/../../x"), "/x");
  assert.equal(normalizeAbsolute("/"), "/");
});

Deno.test("checkWorkdir refuses relative paths and the per-process directories of /proc", () => {
  for (const ok of ["/", "/app", "/proc", "/proc/sys", "/procx/self/fd/3", "/self/fd/3"]) {
    checkWorkdir(ok);
  }
  assert.throws(() => checkWorkdir("app"), /needs to be an absolute path/);
  for (
    const bad of [
      "/proc/self/fd/7",
      "/proc/thread-self/fd/3",
      "/proc/1/cwd",
      "/proc/123/task/123/fd/4",
      "//proc//self/fd/5",
      "/tmp/../proc/self/fd/5",
      "/proc/./self/root",
    ]
  ) {
    assert.throws(
      () => checkWorkdir(bad),
      /is refused: \/proc\/(self|thread-self|\d+) holds links/,
    );
  }
});
