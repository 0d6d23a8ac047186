import assert from "node:assert/strict";
import { type Instruction, parseInstructions, unknownInstruction } from "./instructions.ts";
import { ParseError } from "./parser.ts";

const one = (line: string): Instruction => parseInstructions(`FROM x\n${line}\n`).instructions[1]!;
const lineOf = (text: string) => {
  try {
    parseInstructions(text);
  } catch (e) {
    if (e instanceof ParseError) return `${e.line}: ${e.message}`;
    throw e;
  }
  return "ok";
};

Deno.test("parseInstructions: FROM forms and stage names", () => {
  const df = parseInstructions(
    "ARG V=1\nFROM --platform=linux/amd64 debian:$V AS Build\nFROM build\n",
  );
  const arg = df.instructions[0]!, from = df.instructions[1]!;
  assert.equal(arg!.kind, "arg");
  assert.ok(from.kind === "from");
  assert.deepEqual([from.image, from.stage, from.platform], [
    "debian:$V",
    "build",
    "linux/amd64",
  ]);
  assert.equal(lineOf("FROM a b\n"), "1: FROM requires either one or three arguments");
  assert.match(lineOf("FROM a AS 1x\n"), /invalid name for build stage/);
});

Deno.test("parseInstructions: errors name the line", () => {
  assert.equal(
    lineOf("FROM x\n\nRUN true\nRUNN x\n"),
    "4: unknown instruction: RUNN (did you mean RUN?)",
  );
  assert.equal(
    lineOf("RUN x\n"),
    "1: no build stage in current context: RUN before the first FROM",
  );
  assert.equal(lineOf(""), "0: file with no instructions");
  assert.equal(
    lineOf("FROM x\nCOPY a\n"),
    "2: COPY requires at least two arguments, but only one was provided. Destination could not be determined",
  );
  assert.equal(lineOf("FROM x\nCOPY --bogus=1 a b\n"), "2: unknown flag: bogus");
  assert.equal(lineOf("FROM x\nWORKDIR\n"), "2: WORKDIR requires exactly one argument");
  assert.equal(lineOf("FROM x\nENV a\n"), "2: ENV must have two arguments");
  assert.match(lineOf("FROM x\nENV a=1 b\n"), /^2: Syntax error - can't find = in "b"/);
  assert.equal(
    lineOf("FROM x\nSHELL sh -c\n"),
    "2: SHELL requires the arguments to be in JSON form",
  );
  assert.equal(
    lineOf(`FROM x\nCMD ["a", 1]\n`),
    "2: when using JSON array syntax, arrays must be comprised of strings only",
  );
  assert.equal(
    lineOf("FROM x\nONBUILD ONBUILD RUN x\n"),
    "2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
  );
  assert.equal(lineOf("FROM x\nONBUILD FROM y\n"), "2: FROM isn't allowed as an ONBUILD trigger");
  assert.equal(
    lineOf("FROM x\nHEALTHCHECK FOO x\n"),
    `2: Unknown type "FOO" in HEALTHCHECK (try CMD)`,
  );
  assert.equal(
    lineOf("FROM x\nCOPY --link=maybe a b\n"),
    "2: expecting boolean value for flag link, not: maybe",
  );
  assert.equal(unknownInstruction("xyzzy"), "unknown instruction: XYZZY");
  assert.equal(
    lineOf("FROM x\nCOPY --parents a/b /c/\n"),
    "2: COPY --parents is not supported by tsbox build",
  );
});

Deno.test("parseInstructions: exec and shell forms", () => {
  assert.deepEqual(one(`CMD ["a", "b c"]`), {
    ...one(`CMD ["a", "b c"]`),
    command: { args: ["a", "b c"], shell: false },
  });
  const run = one("RUN echo $HOME && true");
  assert.ok(run.kind === "run");
  assert.deepEqual(run.command, { args: ["echo $HOME && true"], shell: true });
  const bad = one("ENTRYPOINT [not json");
  assert.ok(bad.kind === "entrypoint" && bad.command.shell);
});

Deno.test("parseInstructions: ENV, LABEL and ARG pairs", () => {
  const env = one(`ENV a=1 b="x y" c=d\\ e`);
  assert.ok(env.kind === "env");
  assert.deepEqual(env.pairs, [{ key: "a", value: "1" }, { key: "b", value: `"x y"` }, {
    key: "c",
    value: "d\\ e",
  }]);
  const legacy = one("ENV MY_VAR my value  here");
  assert.ok(legacy.kind === "env");
  assert.deepEqual(legacy.pairs, [{ key: "MY_VAR", value: "my value  here" }]);
  const arg = one("ARG a b=2");
  assert.ok(arg.kind === "arg");
  assert.deepEqual(arg.args, [{ key: "a" }, { key: "b", value: "2" }]);
});

Deno.test("parseInstructions: COPY and ADD with flags and heredocs", () => {
  const c = parseInstructions(
    "FROM x\nCOPY --from=build --chown=1:2 --chmod=755 --link a* b/ /dst/\nCOPY <<EOF /f\nhi $X\nEOF\n",
  ).instructions;
  const copy = c[1]!;
  assert.ok(copy.kind === "copy");
  assert.deepEqual([copy.sources, copy.dest, copy.from, copy.chown, copy.chmod, copy.link], [
    ["a*", "b/"],
    "/dst/",
    "build",
    "1:2",
    "755",
    true,
  ]);
  const inline = c[2]!;
  assert.ok(inline.kind === "copy");
  assert.deepEqual(inline.inline, [{ name: "EOF", data: "hi $X\n", expand: true }]);
  assert.deepEqual(inline.sources, []);
  const add = one(`ADD ["a b", "/c"]`);
  assert.ok(add.kind === "add");
  assert.deepEqual([add.sources, add.dest], [["a b"], "/c"]);
});

Deno.test("parseInstructions: HEALTHCHECK and ONBUILD", () => {
  const h = one("HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/");
  assert.ok(h.kind === "healthcheck");
  assert.deepEqual([h.test, h.interval, h.retries], [
    ["CMD-SHELL", "curl -f http://localhost/"],
    "5s",
    "3",
  ]);
  const j = one(`HEALTHCHECK CMD ["true"]`);
  assert.ok(j.kind === "healthcheck");
  assert.deepEqual(j.test, ["CMD", "true"]);
  const none = one("HEALTHCHECK NONE");
  assert.ok(none.kind === "healthcheck");
  assert.deepEqual(none.test, ["NONE"]);
  const ob = one("onbuild  RUN echo hi");
  assert.ok(ob.kind === "onbuild");
  assert.equal(ob.expression, "RUN echo hi");
  assert.equal(ob.trigger.kind, "run");
});
