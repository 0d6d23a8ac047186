import assert from "node:assert/strict";
import { goMatch, parseDockerignore, PatternMatcher } from "./dockerignore.ts";

const ex = (patterns: string[], path: string) => new PatternMatcher(patterns).excludes(path);

Deno.test("parseDockerignore: comments, blanks, cleaning, exceptions", () => {
  assert.deepEqual(
    parseDockerignore("# comment\n  *.log  \n\n/tmp/\n./a//b/\n! keep.log\n#!not\n**/\n"),
    ["*.log", "tmp", "a/b", "!keep.log", "**"],
  );
});

Deno.test("PatternMatcher: the reference's examples", () => {
  const p = ["*/temp*", "*/*/temp*", "temp?"];
  assert.equal(ex(p, "somedir/temporary.txt"), true);
  assert.equal(ex(p, "somedir/temp"), true);
  assert.equal(ex(p, "somedir/subdir/temporary.txt"), true);
  assert.equal(ex(p, "tempa"), true);
  assert.equal(ex(p, "tempab"), false);
  assert.equal(ex(p, "temp.txt"), false);
  assert.equal(ex(["**/*.go"], "a/b/c.go"), true);
  assert.equal(ex(["**/*.go"], "c.go"), true);
  assert.equal(ex(["*.md", "!README*.md"], "README-secret.md"), false);
  assert.equal(ex(["*.md", "!README*.md"], "other.md"), true);
  // The last matching line wins.
  assert.equal(ex(["*.md", "!README*.md", "README-secret.md"], "README-secret.md"), true);
  assert.equal(ex(["*.md", "README-secret.md", "!README*.md"], "README-secret.md"), false);
});

Deno.test("PatternMatcher: directories exclude what they hold; exceptions re-include", () => {
  assert.equal(ex(["node_modules"], "node_modules/a/b.js"), true);
  assert.equal(ex(["docs", "!docs/keep.md"], "docs/keep.md"), false);
  assert.equal(ex(["docs", "!docs/keep.md"], "docs/other.md"), true);
  assert.equal(ex(["dir/**"], "dir/a/b"), true);
  assert.equal(ex(["dir/**"], "dir"), false);
  assert.equal(ex(["**"], "anything/at/all"), true);
  assert.equal(ex(["**/foo"], "foo"), true);
  assert.equal(ex(["**/foo"], "a/b/foo"), true);
  assert.equal(ex(["**/foo"], "a/b/xfoo"), false);
  assert.equal(ex(["a/**/b"], "a/b"), true);
  assert.equal(ex(["a/**/b"], "a/x/y/b"), true);
  assert.equal(ex(["*"], "a/b"), true);
  assert.equal(ex(["a?c", "[xy].txt"], "abc"), true);
  assert.equal(ex(["[xy].txt"], "y.txt"), true);
  assert.equal(ex(["[xy].txt"], "z.txt"), false);
  assert.equal(ex(["a.b"], "axb"), false);
  assert.throws(() => new PatternMatcher(["!"]), /illegal exclusion pattern/);
  assert.throws(() => new PatternMatcher(["[a"]), /syntax error in pattern/);
  assert.equal(new PatternMatcher(["a", "!b"]).hasExceptions, true);
});

Deno.test("goMatch: Go's filepath.Match", () => {
  assert.equal(goMatch("*.txt", "a.txt"), true);
  assert.equal(goMatch("*.txt", "dir/a.txt"), false);
  assert.equal(goMatch("a*", "abc"), true);
  assert.equal(goMatch("a*/b", "abc/b"), true);
  assert.equal(goMatch("a?c", "abc"), true);
  assert.equal(goMatch("a?c", "a/c"), false);
  assert.equal(goMatch("[a-c]x", "bx"), true);
  assert.equal(goMatch("[^a-c]x", "bx"), false);
  assert.equal(goMatch("[^a-c]x", "dx"), true);
  assert.equal(goMatch("a\\*b", "a*b"), true);
  assert.equal(goMatch("a\\*b", "axb"), false);
  assert.equal(goMatch("*", ""), true);
  assert.throws(() => goMatch("[", "a"), /syntax error/);
  assert.throws(() => goMatch("a\\", "a"), /syntax error/);
});
