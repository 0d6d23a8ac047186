import assert from "node:assert/strict";
import { LexError, ShellLex } from "./shell_lex.ts";

const env = (o: Record<string, string>) => (k: string) => o[k];
const lex = new ShellLex();
const word = (s: string, o: Record<string, string> = {}) => lex.processWord(s, env(o));
const words = (s: string, o: Record<string, string> = {}) => lex.processWords(s, env(o));

Deno.test("processWord: plain and braced variables, unset ones are empty", () => {
  const e = { PWD: "/home", SHELL: "bash", KOREAN: "한국어" };
  assert.equal(word("he$PWD", e), "he/home");
  assert.equal(word("he${PWD}x", e), "he/homex");
  assert.equal(word("he$PWDx", e), "he");
  assert.equal(word("$KOREAN", e), "한국어");
  assert.equal(word("he$ x", e), "he$ x");
  assert.equal(word("he$", e), "he$");
  assert.equal(word("${1}x$2", e), "x");
});

Deno.test("processWord: quotes and escapes", () => {
  const e = { PWD: "/home" };
  assert.equal(word(`'he$PWD'`, e), "he$PWD");
  assert.equal(word(`"he$PWD"`, e), "he/home");
  assert.equal(word(`he\\$PWD`, e), "he$PWD");
  assert.equal(word(`"he\\$PWD"`, e), "he$PWD");
  assert.equal(word(`"a\\"b"`, e), 'a"b');
  assert.equal(word(`"a\\nb"`, e), "a\\nb"); // only " $ \ are escapable in double quotes
  assert.equal(word(`a\\nb`, e), "anb");
  assert.equal(word(`'a\\'`, e), "a\\");
  assert.equal(word(`"it's"`, e), "it's");
  assert.equal(word(`abc\\`, e), "abc");
  assert.throws(() => word(`"abc`), LexError);
  assert.throws(() => word(`'abc`), /matching single-quote/);
});

Deno.test("processWord: the reference's modifiers", () => {
  const e = { FOO: "xxx", BAR: "" };
  assert.equal(word("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", e), "xxx bbb ccc");
  assert.equal(word("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", e), "xxx  ccc");
  assert.equal(word("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", e), "aaa  ");
  assert.equal(word("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", e), "aaa bbb ");
  assert.equal(word("${BAZ:-$FOO}", e), "xxx");
  assert.equal(word("${BAZ:-'a b'}", e), "a b");
  assert.equal(word("${FOO?aaa}", e), "xxx");
  assert.equal(word("${BAR?bbb}", e), "");
  assert.throws(() => word("${BAZ?ccc}", e), /BAZ: ccc/);
  assert.throws(() => word("${BAR:?}", e), /BAR: is not allowed to be empty/);
  assert.throws(() => word("${BAZ:?must be set}", e), /BAZ: must be set/);
  assert.throws(() => word("${FOO=aaa}", e), /unsupported modifier/);
  assert.throws(() => word("${FOO:#a}", e), /unsupported modifier/);
  assert.throws(() => word("${}", e), /bad substitution/);
  assert.throws(() => word("${:x}", e), /bad substitution/);
  assert.throws(() => word("${FOO", e), /missing '}'/);
  assert.throws(() => word("${FOO:-abc", e), /missing '}'/);
});

Deno.test("processWord: pattern removal and replacement", () => {
  assert.equal(word("${FOO#*x*y}", { FOO: "xxyy" }), "y");
  assert.equal(word("${FOO##*x}", { FOO: "xxyy" }), "yy");
  assert.equal(word("${FOO#*}", { FOO: "xxyy" }), "xxyy");
  assert.equal(word("${FOO%y}", { FOO: "xxyy" }), "xxy");
  assert.equal(word("${FOO%%y*}", { FOO: "xxyy" }), "xx");
  assert.equal(word("${FOO%%\\**}", { FOO: "xx**" }), "xx");
  assert.equal(word("${FOO#?\\?}", { FOO: "???y" }), "?y");
  assert.equal(word("${FOO#()[]{\\}^$.\\*\\?|\\\\}", { FOO: "()[]{}^$.*?|\\x" }), "x");
  assert.equal(
    word("${FOO/$N/.} - ${FOO//$N/.}", { FOO: "/foo*/*/*.txt", N: "\\*/" }),
    "/foo.*/*.txt - /foo..*.txt",
  );
  assert.equal(
    word("${FOO/$N/} - ${FOO//$N/}", { FOO: "/tmp/tmp/bar.txt", N: "/tmp" }),
    "/tmp/bar.txt - /bar.txt",
  );
  assert.equal(word("${FOO//\\//\\/}", { FOO: "/tmp/foo.txt" }), "\\/tmp\\/foo.txt");
  assert.equal(word("${FOO/$B/ww}", { FOO: "xxyy", B: "" }), "wwxxyy");
  assert.equal(word("${FOO///}", { FOO: "xxyy" }), "xxyy");
  assert.throws(() => word("${FOO//ww}", { FOO: "x" }));
  assert.equal(
    word("app-${V}.${OS}-${ARCH}${VARIANT:+-${VARIANT}}.tgz", {
      V: "1",
      OS: "linux",
      ARCH: "arm",
      VARIANT: "v7",
    }),
    "app-1.linux-arm-v7.tgz",
  );
});

Deno.test("processWords: splits on unquoted white space, also inside expansions", () => {
  const e = { X: "a b", E: "" };
  assert.deepEqual(words("hello world", e), ["hello", "world"]);
  assert.deepEqual(words("$X c", e), ["a", "b", "c"]);
  assert.deepEqual(words(`"$X" c`, e), ["a b", "c"]);
  assert.deepEqual(words(`'a  b'c d`, e), ["a  bc", "d"]);
  assert.deepEqual(words(`a\\ b`, e), ["a b"]);
  assert.deepEqual(words(`"" x`, e), ["x"]);
  assert.deepEqual(words(`$E`, e), []);
});

Deno.test("process: reports which variables were used", () => {
  const r = lex.process("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", env({ FOO: "x", BAR: "" }));
  assert.deepEqual([...r.matched].sort(), ["BAR", "FOO"]);
  assert.deepEqual([...r.unmatched], ["BAZ"]);
});

Deno.test("options: skipUnsetEnv, rawQuotes, backtick escape", () => {
  const keep = new ShellLex({ skipUnsetEnv: true, rawQuotes: true });
  assert.equal(keep.processWord(`$A ${"${B:-x}"} "q"`, env({})), `$A \${B:-x} "q"`);
  const bt = new ShellLex({ escape: "`" });
  assert.equal(bt.processWord("c:\\dir `$X", env({ X: "1" })), "c:\\dir $X");
});
