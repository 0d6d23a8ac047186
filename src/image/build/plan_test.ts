import assert from "node:assert/strict";
import { parseInstructions } from "./instructions.ts";
import { type RunConfig, scratchConfig } from "./image_config.ts";
import { ParseError } from "./parser.ts";
import { type BuildPlan, planBuild } from "./plan.ts";
import type { Step } from "./dispatch.ts";

const BASE: RunConfig = {
  Env: ["PATH=/usr/bin:/bin"],
  Cmd: ["sh"],
  WorkingDir: "",
};

async function plan(
  text: string,
  opts: { buildArgs?: Record<string, string>; target?: string; bases?: Record<string, RunConfig> } =
    {},
): Promise<BuildPlan> {
  return await planBuild(parseInstructions(text), {
    buildArgs: opts.buildArgs ?? {},
    ...(opts.target ? { target: opts.target } : {}),
  }, (ref) => {
    const c = opts.bases?.[ref] ??
      (ref.startsWith("busybox") || ref.startsWith("ubuntu") ? BASE : undefined);
    if (!c) return Promise.reject(new Error(`no image ${ref}`));
    return Promise.resolve(structuredClone(c));
  });
}

const last = (p: BuildPlan) => p.stages[p.stages.length - 1]!;
const steps = (p: BuildPlan): Step[] => last(p).steps;
const env = (c: RunConfig) => c.Env ?? [];
async function lineError(text: string, opts: { buildArgs?: Record<string, string> } = {}) {
  try {
    await plan(text, opts);
  } catch (e) {
    if (e instanceof ParseError) return `${e.line}: ${e.message}`;
    throw e;
  }
  return "ok";
}

Deno.test("plan: the reference's ENV replacement example", async () => {
  const p = await plan(
    "FROM busybox\nENV FOO=/bar\nWORKDIR ${FOO}\nADD . $FOO\nCOPY \\$FOO /quux\n",
  );
  const workdir = steps(p)[1]!, add = steps(p)[2]!, copy = steps(p)[3]!;
  assert.ok(workdir.kind === "workdir" && add.kind === "copy" && copy.kind === "copy");
  assert.equal(workdir.dir, "/bar");
  assert.deepEqual([add.sources, add.dest, add.add], [["."], "/bar", true]);
  assert.deepEqual([copy.sources, copy.dest], [["$FOO"], "/quux"]);
});

Deno.test("plan: ENV uses the values from before the instruction", async () => {
  const p = await plan("FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n");
  assert.deepEqual(env(last(p).config), ["PATH=/usr/bin:/bin", "abc=bye", "def=hello", "ghi=bye"]);
});

Deno.test("plan: ARG scope and defaults (reference examples)", async () => {
  const text = "FROM busybox\nUSER ${username:-some_user}\nARG username\nUSER $username\n";
  const p = await plan(text, { buildArgs: { username: "what_user" } });
  assert.deepEqual(steps(p).map((s) => s.config.User), ["some_user", "some_user", "what_user"]);
  const meta = await plan(
    "ARG VERSION=latest\nFROM busybox:$VERSION\nARG VERSION\nRUN echo $VERSION > image_version\n",
    { bases: { "busybox:latest": BASE } },
  );
  assert.deepEqual(last(meta).base, { kind: "image", ref: "busybox:latest" });
  const run = steps(meta)[1]!;
  assert.ok(run.kind === "run");
  assert.deepEqual(run.env, ["VERSION=latest"]);
  assert.equal(run.history, "RUN |1 VERSION=latest /bin/sh -c echo $VERSION > image_version");
  // Without ARG in the stage, the global ARG is not visible.
  const hidden = await plan("ARG V=1\nFROM busybox\nRUN echo $V\nENV X=${V:-unset}\n");
  assert.deepEqual(env(last(hidden).config).at(-1), "X=unset");
});

Deno.test("plan: ENV overrides ARG, and ARG can default ENV", async () => {
  const over = await plan(
    "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\nRUN echo $CONT_IMG_VER\n",
    { buildArgs: { CONT_IMG_VER: "v2.0.1" } },
  );
  const run = steps(over)[2]!;
  assert.ok(run.kind === "run");
  assert.deepEqual(run.env, []);
  const text = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n";
  assert.equal(
    env(last(await plan(text, { buildArgs: { CONT_IMG_VER: "v2.0.1" } })).config).at(-1),
    "CONT_IMG_VER=v2.0.1",
  );
  assert.equal(env(last(await plan(text)).config).at(-1), "CONT_IMG_VER=v1.0.0");
});

Deno.test("plan: a changed build arg changes the first RUN after the ARG, not the ARG", async () => {
  const text = "FROM busybox\nARG A=1\nRUN true\n";
  const [a1, r1] = steps(await plan(text));
  const [a2, r2] = steps(await plan(text, { buildArgs: { A: "2" } }));
  assert.equal(a1!.cacheText, a2!.cacheText);
  assert.notEqual(r1!.cacheText, r2!.cacheText);
  const proxy = steps(
    await plan("FROM busybox\nRUN true\n", { buildArgs: { HTTP_PROXY: "http://p" } }),
  )[0]!;
  assert.ok(proxy.kind === "run");
  assert.deepEqual(proxy.env, ["HTTP_PROXY=http://p"]);
  assert.equal(proxy.cacheText, steps(await plan("FROM busybox\nRUN true\n"))[0]!.cacheText);
  assert.deepEqual((await plan(text, { buildArgs: { B: "x" } })).unusedArgs, ["B"]);
});

Deno.test("plan: CMD, ENTRYPOINT and SHELL follow Docker's rules", async () => {
  const p = await plan(
    `FROM busybox\nENTRYPOINT ["/bin/app"]\n`,
  );
  assert.equal(last(p).config.Cmd, null); // the base's CMD is reset
  const kept = await plan(`FROM busybox\nCMD ["a"]\nENTRYPOINT ["/bin/app"]\n`);
  assert.deepEqual(last(kept).config.Cmd, ["a"]);
  const shell = await plan(
    `FROM busybox\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nCMD echo hi\nRUN a | b\n`,
  );
  assert.deepEqual(last(shell).config.Cmd, ["/bin/bash", "-eo", "pipefail", "-c", "echo hi"]);
  const run = steps(shell)[2]!;
  assert.ok(run.kind === "run");
  assert.deepEqual(run.argv, ["/bin/bash", "-eo", "pipefail", "-c", "a | b"]);
});

Deno.test("plan: metadata instructions", async () => {
  const p = await plan(
    [
      "FROM busybox",
      "ENV P=8080",
      "EXPOSE $P 53/udp 7000-7001",
      'LABEL a=1 "b c"="d e"',
      'VOLUME /data ["/x"]',
      'VOLUME ["/logs", "/cache"]',
      "USER app:app",
      "WORKDIR /srv",
      "WORKDIR web",
      "STOPSIGNAL SIGQUIT",
      "HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD wget -q localhost",
      "ONBUILD RUN echo child",
      "MAINTAINER me",
      "",
    ].join("\n"),
  );
  const c = last(p).config;
  assert.deepEqual(Object.keys(c.ExposedPorts!), ["8080/tcp", "53/udp", "7000/tcp", "7001/tcp"]);
  assert.deepEqual(c.Labels, { a: "1", "b c": "d e" });
  assert.deepEqual(Object.keys(c.Volumes!), ["/data", "[/x]", "/logs", "/cache"]);
  assert.equal(c.User, "app:app");
  assert.equal(c.WorkingDir, "/srv/web");
  assert.equal(c.StopSignal, "SIGQUIT");
  assert.deepEqual(c.Healthcheck, {
    Test: ["CMD-SHELL", "wget -q localhost"],
    Interval: 30e9,
    Timeout: 3e9,
    Retries: 2,
  });
  assert.deepEqual(c.OnBuild, ["RUN echo child"]);
  assert.equal(c.Author, "me");
});

Deno.test("plan: ONBUILD triggers run after FROM and are not inherited", async () => {
  const p = await plan("FROM parent\nRUN two\n", {
    bases: { parent: { ...BASE, OnBuild: ["RUN one", "ENV X=1"] } },
  });
  const st = last(p);
  assert.equal(st.triggers, 2);
  assert.deepEqual(st.steps.map((s) => s.kind), ["run", "config", "run"]);
  assert.equal(st.config.OnBuild, null);
  const chained = await plan("FROM busybox AS a\nONBUILD ENV Y=2\nFROM a\n");
  assert.equal(env(last(chained).config).at(-1), "Y=2");
});

Deno.test("plan: stages the target needs, by name, index and COPY --from", async () => {
  const text = [
    "FROM busybox AS deps",
    "RUN a",
    "FROM busybox AS unused",
    "RUN b",
    "FROM deps AS build",
    "RUN c",
    "FROM busybox AS other",
    "FROM scratch",
    "COPY --from=build /out /out",
    "COPY --from=3 /x /x",
    "COPY --from=busybox:1 /bin/sh /sh",
    "",
  ].join("\n");
  const p = await plan(text);
  assert.deepEqual(p.stages.map((s) => s.index), [0, 2, 3, 4]);
  const copies = steps(p);
  assert.deepEqual(copies.map((s) => s.kind === "copy" && s.from), [
    { stage: 2 },
    { stage: 3 },
    { image: "busybox:1" },
  ]);
  assert.deepEqual(last(p).base, { kind: "scratch" });
  assert.deepEqual(last(p).config, scratchConfig());
  const t = await plan(text, { target: "build" });
  assert.deepEqual(t.stages.map((s) => s.index), [0, 2]);
  await assert.rejects(plan(text, { target: "nope" }), /target stage "nope" could not be found/);
});

Deno.test("plan: RUN heredocs", async () => {
  const p = await plan(
    [
      "FROM busybox",
      "RUN <<EOF",
      "echo a",
      "EOF",
      "RUN <<EOF",
      "#!/usr/bin/env python3",
      "print(1)",
      "EOF",
      "RUN python3 <<EOF > out",
      "print(2)",
      "EOF",
      "RUN <<-EOF",
      "\techo tab",
      "\tEOF",
      "",
    ].join("\n"),
  );
  const runs = steps(p).map((s) => s.kind === "run" ? [s.argv, s.files] : undefined);
  assert.deepEqual(runs, [
    [["/bin/sh", "-c", "echo a\n"], []],
    [["/bin/sh", "-c", "/dev/pipes/EOF"], [{
      name: "EOF",
      data: "#!/usr/bin/env python3\nprint(1)\n",
    }]],
    [["/bin/sh", "-c", "python3 <<EOF > out\nprint(2)\nEOF"], []],
    [["/bin/sh", "-c", "echo tab\n"], []],
  ]);
});

Deno.test("plan: COPY destinations and heredoc sources", async () => {
  const p = await plan(
    "FROM busybox\nWORKDIR /app\nCOPY a .\nCOPY a b\nCOPY a sub/\nCOPY <<EOF cfg\nv=$HOME '$X'\nEOF\nENV HOME=/h\nCOPY <<'EOF' <<EOF2 /etc/\n$HOME\nEOF\n$HOME\nEOF2\n",
  );
  const d = steps(p).filter((s) => s.kind === "copy").map((s) =>
    s.kind === "copy" && [s.dest, s.inline]
  );
  assert.deepEqual(d, [
    ["/app/", []],
    ["/app/b", []],
    ["/app/sub/", []],
    ["/app/cfg", [{ name: "EOF", data: "v= ''\n" }]],
    ["/etc/", [{ name: "EOF", data: "$HOME\n" }, { name: "EOF2", data: "/h\n" }]],
  ]);
});

Deno.test("plan: errors name the line", async () => {
  assert.equal(
    await lineError("FROM busybox\nRUN true\nENV X=${Y:?required}\n"),
    `3: failed to process "${"${Y:?required}"}": Y: required`,
  );
  assert.equal(
    await lineError("FROM busybox\nCOPY a b c\n"),
    "2: When using COPY with more than one source file, the destination must be a directory and end with a /",
  );
  assert.equal(
    await lineError("FROM busybox\nEXPOSE 99999\n"),
    "2: invalid range specified for port: 99999",
  );
  assert.equal(await lineError("FROM busybox\nSTOPSIGNAL SIGFOO\n"), "2: invalid signal: SIGFOO");
  assert.equal(
    await lineError("FROM busybox\nCOPY --chmod=x a b\n"),
    `2: invalid chmod parameter "x": use an octal mode`,
  );
  assert.equal(await lineError("ARG IMG\nFROM $IMG\n"), "2: base name ($IMG) should not be blank");
  assert.match(
    await lineError("FROM --platform=linux/arm64 busybox\n"),
    /^1: platform linux\/arm64 is not supported/,
  );
  assert.equal(
    await lineError("FROM busybox\nHEALTHCHECK --interval=1us CMD x\n"),
    "2: --interval cannot be less than 1ms",
  );
});
