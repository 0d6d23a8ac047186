import assert from "node:assert/strict";
import { extractFlags, parseDockerfile, ParseError, parseJsonArray, splitWords } from "./parser.ts";

const cmds = (text: string) => parseDockerfile(text).nodes.map((n) => [n.cmd, n.rest]);

Deno.test("parseDockerfile: comments, blank lines, continuations and line numbers", () => {
  const p = parseDockerfile(
    [
      "# a comment",
      "FROM busybox",
      "",
      "   # indented comment",
      "RUN echo a \\",
      "  # comment inside",
      "",
      "    && echo b",
      "run echo \\  ",
      "c",
      "",
    ].join("\n"),
  );
  assert.deepEqual(p.nodes.map((n) => [n.cmd, n.rest, n.startLine, n.endLine]), [
    ["from", "busybox", 2, 2],
    ["run", "echo a     && echo b", 5, 8],
    ["run", "echo c", 9, 10],
  ]);
  assert.equal(p.warnings.length, 1);
  assert.equal(p.nodes[2]!.keyword, "run");
});

Deno.test("parseDockerfile: parser directives only at the top", () => {
  const p = parseDockerfile("# syntax=docker/dockerfile:1\n#ESCAPE = `\nFROM x\nRUN a `\n b\n");
  assert.equal(p.escape, "`");
  assert.equal(p.directives.syntax, "docker/dockerfile:1");
  assert.deepEqual(cmds("# x\n# escape=`\nFROM x\nRUN a \\\n b\n"), [["from", "x"], [
    "run",
    "a  b",
  ]]);
  assert.deepEqual(parseDockerfile("\n# escape=`\nFROM x\n").escape, "\\");
  assert.throws(() => parseDockerfile("# escape=x\nFROM x\n"), /invalid escape token/);
  assert.throws(() => parseDockerfile("# escape=`\n# escape=`\nFROM x\n"), /only one escape/);
  // With ` as the escape, a Windows path's \ is an ordinary character.
  assert.deepEqual(cmds("# escape=`\nFROM x\nCOPY a c:\\\nRUN b\n"), [
    ["from", "x"],
    ["copy", "a c:\\"],
    ["run", "b"],
  ]);
});

Deno.test("parseDockerfile: heredocs", () => {
  const p = parseDockerfile(
    [
      "FROM x",
      "RUN <<EOF",
      "echo $HOME",
      "  # not a comment",
      "EOF",
      "COPY <<-A <<'B' /dest/",
      "\t\tone",
      "\tA",
      "two $X",
      "B",
      'RUN ["echo", "<<EOF"]',
      "CMD <<EOF",
    ].join("\n"),
  );
  const [, run, copy, json, cmd] = p.nodes;
  assert.deepEqual(run!.heredocs, [{
    name: "EOF",
    content: "echo $HOME\n  # not a comment\n",
    expand: true,
    chomp: false,
    fd: 0,
  }]);
  assert.equal(run!.endLine, 5);
  assert.deepEqual(copy!.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp]), [
    ["A", "\t\tone\n", true, true],
    ["B", "two $X\n", false, false],
  ]);
  assert.equal(json!.heredocs.length, 0);
  assert.equal(cmd!.heredocs.length, 0);
  assert.throws(
    () => parseDockerfile("FROM x\nRUN <<EOF\necho\n"),
    (e: unknown) =>
      e instanceof ParseError && e.line === 2 && /unterminated heredoc/.test(e.message),
  );
});

Deno.test("extractFlags: builder flags before the arguments", () => {
  assert.deepEqual(extractFlags("--from=build --chown='a b' src dst"), {
    flags: ["--from=build", "--chown=a b"],
    rest: "src dst",
  });
  assert.deepEqual(extractFlags("-- --x y"), { flags: [], rest: " --x y" });
  assert.deepEqual(extractFlags("src --from=x"), { flags: [], rest: "src --from=x" });
});

Deno.test("splitWords keeps quotes; parseJsonArray tells exec from shell form", () => {
  assert.deepEqual(splitWords(`a="b c" d\\ e 'f g'`, "\\"), [`a="b c"`, "d\\ e", "'f g'"]);
  assert.deepEqual(parseJsonArray(` ["a", "b"]`), ["a", "b"]);
  assert.equal(parseJsonArray(`[a, b]`), undefined);
  assert.equal(parseJsonArray(`echo [1]`), undefined);
  assert.throws(() => parseJsonArray(`["a", 1]`), /strings only/);
});
