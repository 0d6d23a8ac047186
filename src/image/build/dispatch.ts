// The steps of one stage: each instruction with its variables expanded and
// the image configuration after it. Expansion follows the reference
// ("Environment replacement"): ADD, COPY (and their flags), ENV, EXPOSE,
// LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG defaults; ONBUILD is
// stored as written (its trigger expands when it runs). The variables are the
// image's ENV, then the stage's ARGs (ENV wins). RUN, CMD and ENTRYPOINT are
// left to the shell; a RUN sees the stage's ARGs as environment variables
// (the ones ENV does not set) and its cache identity includes them, as
// Docker's "|N k=v" prefix does. Everything here depends only on the
// configurations of the base images, so a whole build is planned (and a bad
// Dockerfile refused) before the first step runs. Pure.

import {
  checkSignal,
  cloneConfig,
  envValue,
  exposedPorts,
  healthConfig,
  resolveCommand,
  resolveWorkdir,
  type RunConfig,
  setEnv,
} from "./image_config.ts";
import type { Instruction } from "./instructions.ts";
import { parseInstruction } from "./instructions.ts";
import { chompHeredoc, parseDockerfile, ParseError, parseHeredocWord } from "./parser.ts";
import { ShellLex } from "./shell_lex.ts";
import { PROXY_ARGS } from "./stages.ts";

/** Fields of every step. */
interface StepBase {
  /** The instruction as written, for "Step N/M : ...". */
  text: string;
  /** Its first line in the Dockerfile (for errors). */
  line: number;
  /** The image configuration after the step. */
  config: RunConfig;
  /** The history entry's created_by. */
  history: string;
  /** What the step's cache key covers besides its parent and the files it reads. */
  cacheText: string;
}

/** Where COPY --from reads: an earlier stage or an image. */
export type CopyFrom = { stage: number } | { image: string };

/** A file a RUN needs mounted (a heredoc script with #!). */
export interface RunFile {
  name: string;
  data: string;
}

/** One step of a stage. */
export type Step =
  /** Only the configuration changes. */
  | StepBase & { kind: "config" }
  /** WORKDIR: the configuration, and the directory is made (owned by `user`). */
  | StepBase & { kind: "workdir"; dir: string; user?: string }
  | StepBase & {
    kind: "run";
    argv: string[];
    /** Build arguments to set (K=V), besides the image's Env. */
    env: string[];
    network?: string;
    mounts: string[];
    /** Files under /dev/pipes (a heredoc script run by its #! line). */
    files: RunFile[];
  }
  | StepBase & {
    kind: "copy";
    add: boolean;
    sources: string[];
    inline: { name: string; data: string }[];
    /** Absolute; ends with "/" when it must be a directory. */
    dest: string;
    from?: CopyFrom;
    chown?: string;
    chmod?: number;
    checksum?: string;
    keepGitDir: boolean;
    exclude: string[];
    unpack?: boolean;
  };

/** The state of a stage as its instructions are planned. */
export interface StageState {
  config: RunConfig;
  /** ARGs declared in this stage, with their values (undefined: declared, no value). */
  args: Map<string, string | undefined>;
  /** CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

/** What planning a stage needs to know. */
export interface DispatchContext {
  escape: string;
  buildArgs: Readonly<Record<string, string>>;
  /** Values of the global ARGs (before the first FROM). */
  meta: ReadonlyMap<string, string | undefined>;
  /** --build-arg names that an ARG consumed (filled in). */
  used: Set<string>;
  /** The stage a --from word names (earlier stages only), or undefined for an image. */
  stageRef: (ref: string) => number | undefined;
}

const q = JSON.stringify;

function fail(line: number, e: unknown): never {
  throw new ParseError(line, e instanceof Error ? e.message : String(e));
}

/** Expands words of one instruction with the stage's variables. */
class Expander {
  readonly lex: ShellLex;
  readonly heredocLex: ShellLex;
  constructor(readonly st: StageState, escape: string, readonly line: number) {
    this.lex = new ShellLex({ escape });
    this.heredocLex = new ShellLex({ escape, skipProcessQuotes: true });
  }
  lookup = (name: string): string | undefined => {
    const e = envValue(this.st.config.Env, name);
    return e !== undefined ? e : this.st.args.get(name);
  };
  word(w: string): string {
    try {
      return this.lex.processWord(w, this.lookup);
    } catch (e) {
      fail(this.line, e);
    }
  }
  words(w: string): string[] {
    try {
      return this.lex.processWords(w, this.lookup);
    } catch (e) {
      fail(this.line, e);
    }
  }
  heredoc(data: string): string {
    try {
      return this.heredocLex.processWord(data, this.lookup);
    } catch (e) {
      fail(this.line, e);
    }
  }
}

/** The ONBUILD triggers of a base configuration as instructions (they run right after FROM). */
export function onbuildTriggers(config: RunConfig, line: number): Instruction[] {
  const out: Instruction[] = [];
  for (const t of config.OnBuild ?? []) {
    try {
      const p = parseDockerfile(t);
      for (const n of p.nodes) {
        out.push(parseInstruction({ ...n, startLine: line, endLine: line }, "\\"));
      }
    } catch (e) {
      fail(line, new Error(`ONBUILD trigger ${q(t)}: ${(e as Error).message}`));
    }
  }
  return out;
}

/** The build arguments a RUN sees: declared ARGs with a value, and --build-arg proxies. */
function runArgs(st: StageState, buildArgs: Readonly<Record<string, string>>): {
  env: string[];
  cache: string[];
} {
  const env: string[] = [];
  const cache: string[] = [];
  for (const [k, v] of st.args) {
    if (v === undefined || envValue(st.config.Env, k) !== undefined) continue;
    env.push(`${k}=${v}`);
    cache.push(`${k}=${v}`);
  }
  for (const k of PROXY_ARGS) {
    if (k in buildArgs && !st.args.has(k) && envValue(st.config.Env, k) === undefined) {
      env.push(`${k}=${buildArgs[k]}`);
    }
  }
  return { env, cache: cache.sort() };
}

/** The RUN command with its heredocs (BuildKit's rules). */
function runCommand(
  i: Extract<Instruction, { kind: "run" }>,
  config: RunConfig,
): { argv: string[]; files: RunFile[] } {
  let args = i.command.args;
  const files: RunFile[] = [];
  if (i.heredocs.length && i.command.shell) {
    const only = parseHeredocWord(args[0] ?? "");
    const first = i.heredocs[0]!;
    if (only && args.length === 1 && i.heredocs.length === 1) {
      const data = first.chomp ? chompHeredoc(first.content) : first.content;
      if (data.startsWith("#!")) {
        files.push({ name: first.name, data });
        args = [`/dev/pipes/${first.name}`];
      } else args = [data];
    } else {
      let full = args[0] ?? "";
      for (const h of i.heredocs) full += `\n${h.content}${h.name}`;
      args = [full];
    }
  }
  return { argv: resolveCommand(config, args, i.command.shell), files };
}

function parseMode(line: number, s: string): number {
  if (!/^[0-7]{1,4}$/.test(s)) {
    fail(line, new Error(`invalid chmod parameter "${s}": use an octal mode`));
  }
  return parseInt(s, 8);
}

/** Plans one instruction: returns its step and updates `st`. Throws ParseError naming the line. */
export function dispatch(i: Instruction, st: StageState, ctx: DispatchContext): Step {
  const line = i.node.startLine;
  const x = new Expander(st, ctx.escape, line);
  const before = st.config;
  const c = cloneConfig(before);
  const base = { text: i.node.original, line };
  const meta = (history: string): Step => {
    st.config = c;
    return { ...base, kind: "config", config: c, history, cacheText: history };
  };
  switch (i.kind) {
    case "from":
      fail(line, new Error("FROM inside a stage"));
      break;
    case "arg": {
      for (const kv of i.args) {
        let v = kv.value === undefined ? undefined : x.word(kv.value);
        if (kv.key in ctx.buildArgs) {
          v = ctx.buildArgs[kv.key];
          ctx.used.add(kv.key);
        } else if (kv.value === undefined) v = ctx.meta.get(kv.key);
        st.args.set(kv.key, v);
      }
      // As written: a --build-arg changes the first step that uses it, not this one.
      return meta(
        `ARG ${i.args.map((a) => a.value === undefined ? a.key : `${a.key}=${a.value}`).join(" ")}`,
      );
    }
    case "env": {
      let env = [...(c.Env ?? [])];
      const parts: string[] = [];
      for (const kv of i.pairs) {
        const key = x.word(kv.key);
        if (!key) fail(line, new Error("ENV names can not be blank"));
        const value = x.word(kv.value ?? "");
        env = setEnv(env, key, value);
        parts.push(`${key}=${value}`);
      }
      c.Env = env;
      return meta(`ENV ${parts.join(" ")}`);
    }
    case "label": {
      const labels = { ...(c.Labels ?? {}) };
      const parts: string[] = [];
      for (const kv of i.pairs) {
        const key = x.word(kv.key);
        if (!key) fail(line, new Error("LABEL names can not be blank"));
        labels[key] = x.word(kv.value ?? "");
        parts.push(`${key}=${labels[key]}`);
      }
      c.Labels = labels;
      return meta(`LABEL ${parts.join(" ")}`);
    }
    case "maintainer":
      c.Author = i.value;
      return meta(`MAINTAINER ${i.value}`);
    case "cmd": {
      c.Cmd = resolveCommand(c, i.command.args, i.command.shell);
      st.cmdSet = true;
      return meta(`CMD ${q(c.Cmd)}`);
    }
    case "entrypoint": {
      c.Entrypoint = resolveCommand(c, i.command.args, i.command.shell);
      if (!st.cmdSet) c.Cmd = null;
      return meta(`ENTRYPOINT ${q(c.Entrypoint)}`);
    }
    case "shell":
      c.Shell = [...i.args];
      return meta(`SHELL ${q(c.Shell)}`);
    case "user":
      c.User = x.word(i.value);
      return meta(`USER ${c.User}`);
    case "stopsignal": {
      const sig = x.word(i.value);
      try {
        c.StopSignal = checkSignal(sig);
      } catch (e) {
        fail(line, e);
      }
      return meta(`STOPSIGNAL ${sig}`);
    }
    case "expose": {
      const ports = { ...(c.ExposedPorts ?? {}) };
      let list: string[];
      try {
        list = exposedPorts(i.values.flatMap((v) => x.words(v)));
      } catch (e) {
        fail(line, e);
      }
      for (const p of list) ports[p] = {};
      c.ExposedPorts = ports;
      return meta(`EXPOSE ${list.join(" ")}`);
    }
    case "volume": {
      const vols = { ...(c.Volumes ?? {}) };
      const list = i.values.map((v) => x.word(v)).filter((v) => v !== "");
      if (!list.length) fail(line, new Error("VOLUME specified can not be an empty string"));
      for (const v of list) vols[v] = {};
      c.Volumes = vols;
      return meta(`VOLUME ${q(list)}`);
    }
    case "healthcheck": {
      try {
        c.Healthcheck = healthConfig(i.test, i);
      } catch (e) {
        fail(line, e);
      }
      return meta(`HEALTHCHECK ${q(c.Healthcheck)}`);
    }
    case "onbuild":
      c.OnBuild = [...(c.OnBuild ?? []), i.expression];
      return meta(`ONBUILD ${i.expression}`);
    case "workdir": {
      const dir = resolveWorkdir(c.WorkingDir, x.word(i.value));
      c.WorkingDir = dir;
      st.config = c;
      return {
        ...base,
        kind: "workdir",
        dir,
        ...(c.User ? { user: c.User } : {}),
        config: c,
        history: `WORKDIR ${dir}`,
        cacheText: `WORKDIR ${dir} ${c.User ?? ""}`,
      };
    }
    case "run": {
      const { argv, files } = runCommand(i, c);
      const args = runArgs(st, ctx.buildArgs);
      const network = i.network === undefined ? undefined : x.word(i.network);
      if (network !== undefined && !["default", "none", "host"].includes(network)) {
        fail(line, new Error(`unsupported network mode ${q(network)}: use default, none or host`));
      }
      const prefix = args.cache.length ? `|${args.cache.length} ${args.cache.join(" ")} ` : "";
      st.config = c;
      return {
        ...base,
        kind: "run",
        argv,
        env: args.env,
        ...(network !== undefined && network !== "default" ? { network } : {}),
        mounts: i.mounts.map((m) => x.word(m)),
        files,
        config: c,
        history: `RUN ${prefix}${argv.join(" ")}`,
        cacheText: `RUN ${q({ argv, args: args.cache, network, mounts: i.mounts, files })}`,
      };
    }
    case "copy":
    case "add":
      return copyStep(i, st, ctx, x);
  }
}

function copyStep(
  i: Extract<Instruction, { kind: "copy" | "add" }>,
  st: StageState,
  ctx: DispatchContext,
  x: Expander,
): Step {
  const line = i.node.startLine;
  const kw = i.kind.toUpperCase();
  const sources = i.sources.map((s) => x.word(s));
  const inline = i.inline.map((s) => ({
    name: s.name,
    data: s.expand ? x.heredoc(s.data) : s.data,
  }));
  let dest = x.word(i.dest);
  if (!dest) fail(line, new Error(`${kw} destination can not be empty`));
  const dirLike = /(^|\/)\.?$/.test(dest) || dest.endsWith("/");
  if (!dest.startsWith("/")) dest = resolveWorkdir(st.config.WorkingDir, dest);
  if (dirLike && !dest.endsWith("/")) dest += "/";
  if (sources.length + inline.length > 1 && !dest.endsWith("/")) {
    fail(
      line,
      new Error(
        // deno-lint-ignore tsbox/error-style -- Docker's own wording, which users search for
        `When using ${kw} with more than one source file, the destination must be a directory and end with a /`,
      ),
    );
  }
  let from: CopyFrom | undefined;
  if (i.kind === "copy" && i.from !== undefined) {
    const ref = x.word(i.from);
    const stage = ctx.stageRef(ref);
    from = stage !== undefined ? { stage } : { image: ref };
  }
  const chown = i.chown === undefined ? undefined : x.word(i.chown);
  const chmod = i.chmod === undefined ? undefined : parseMode(line, x.word(i.chmod));
  const checksum = i.checksum === undefined ? undefined : x.word(i.checksum);
  if (checksum !== undefined && !/^sha256:[0-9a-f]{64}$/.test(checksum)) {
    fail(line, new Error(`invalid checksum ${q(checksum)}: expected sha256:<64 hex digits>`));
  }
  const exclude = i.exclude.map((e) => x.word(e));
  const words = [...sources, ...inline.map((s) => `<<${s.name}`), dest];
  const flags = [
    from ? `--from=${"stage" in from ? from.stage : from.image}` : "",
    chown !== undefined ? `--chown=${chown}` : "",
    chmod !== undefined ? `--chmod=${chmod.toString(8)}` : "",
  ].filter(Boolean);
  return {
    text: i.node.original,
    line,
    kind: "copy",
    add: i.kind === "add",
    sources,
    inline,
    dest,
    ...(from ? { from } : {}),
    ...(chown !== undefined ? { chown } : {}),
    ...(chmod !== undefined ? { chmod } : {}),
    ...(checksum !== undefined ? { checksum } : {}),
    keepGitDir: i.keepGitDir,
    exclude,
    ...(i.unpack !== undefined ? { unpack: i.unpack } : {}),
    config: st.config,
    history: `${kw} ${[...flags, ...words].join(" ")}`,
    cacheText: `${kw} ${q({ flags, words, inline, exclude, checksum, unpack: i.unpack })}`,
  };
}
