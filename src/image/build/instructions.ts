// Dockerfile instructions as typed values, from the parser's nodes (the
// Dockerfile reference, one section per instruction; BuildKit's
// frontend/dockerfile/instructions). Arguments stay as written: variables
// are expanded later, when the build state they refer to is known
// (expand.ts), except the split into words, JSON (exec) versus shell form
// and the flags each instruction takes, which are checked here, so a bad
// Dockerfile is refused before anything is built. Pure.

import {
  chompHeredoc,
  type Heredoc,
  type Node,
  NOT_STRING_ARRAY,
  parseDockerfile,
  ParseError,
  parseHeredocWord,
  parseJsonArray,
  splitInstruction,
  splitWords,
} from "./parser.ts";

/** A `--name=value` flag of an instruction. */
type FlagKind = "string" | "bool" | "strings";

const FLAGS: Record<string, Record<string, FlagKind>> = {
  from: { platform: "string" },
  run: { network: "string", mount: "strings", security: "string" },
  copy: {
    from: "string",
    chown: "string",
    chmod: "string",
    link: "bool",
    parents: "bool",
    exclude: "strings",
  },
  add: {
    chown: "string",
    chmod: "string",
    link: "bool",
    checksum: "string",
    "keep-git-dir": "bool",
    exclude: "strings",
    unpack: "bool",
  },
  healthcheck: {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  },
};

/** Every instruction keyword tsbox knows, lower case. */
export const KEYWORDS = [
  "from",
  "run",
  "cmd",
  "label",
  "maintainer",
  "expose",
  "env",
  "add",
  "copy",
  "entrypoint",
  "volume",
  "user",
  "workdir",
  "arg",
  "onbuild",
  "stopsignal",
  "healthcheck",
  "shell",
] as const;

/** A key and a value as written (`ENV k=v`, `LABEL k=v`, `ARG k=v`). */
export interface KeyValue {
  key: string;
  /** Undefined for `ARG name` without a default. */
  value?: string;
}

/** A command in exec (JSON) or shell form. */
export interface CommandLine {
  args: string[];
  /** Shell form: run through the image's SHELL. */
  shell: boolean;
}

/** A COPY/ADD source written inline as a heredoc. */
export interface InlineSource {
  name: string;
  data: string;
  expand: boolean;
}

/** Fields every instruction has. */
interface Base {
  node: Node;
}

/** One instruction. */
export type Instruction =
  | Base & { kind: "from"; image: string; stage?: string; platform?: string }
  | Base & {
    kind: "run";
    command: CommandLine;
    heredocs: Heredoc[];
    network?: string;
    mounts: string[];
  }
  | Base & { kind: "cmd" | "entrypoint"; command: CommandLine }
  | Base & { kind: "shell"; args: string[] }
  | Base & {
    kind: "copy" | "add";
    sources: string[];
    inline: InlineSource[];
    dest: string;
    from?: string;
    chown?: string;
    chmod?: string;
    link: boolean;
    exclude: string[];
    checksum?: string;
    keepGitDir: boolean;
    unpack?: boolean;
  }
  | Base & { kind: "env" | "label"; pairs: KeyValue[] }
  | Base & { kind: "arg"; args: KeyValue[] }
  | Base & { kind: "workdir" | "user" | "stopsignal" | "maintainer"; value: string }
  | Base & { kind: "expose" | "volume"; values: string[] }
  | Base & {
    kind: "healthcheck";
    /** ["NONE"], ["CMD", ...] or ["CMD-SHELL", cmd]. */
    test: string[];
    interval?: string;
    timeout?: string;
    startPeriod?: string;
    startInterval?: string;
    retries?: string;
  }
  | Base & { kind: "onbuild"; expression: string; trigger: Instruction };

function parseFlagList(node: Node): Record<string, string | boolean | string[]> {
  const defs = FLAGS[node.cmd] ?? {};
  const out: Record<string, string | boolean | string[]> = {};
  for (const f of node.flags) {
    if (!f.startsWith("--")) {
      throw new ParseError(node.startLine, `arg should start with -- : ${f}`);
    }
    const eq = f.indexOf("=");
    const name = eq < 0 ? f.slice(2) : f.slice(2, eq);
    const value = eq < 0 ? undefined : f.slice(eq + 1);
    const kind = defs[name];
    if (!kind) throw new ParseError(node.startLine, `unknown flag: ${name}`);
    if (name in out && kind !== "strings") {
      throw new ParseError(node.startLine, `duplicate flag specified: ${name}`);
    }
    if (kind === "bool") {
      if (value === "" && eq >= 0) {
        throw new ParseError(node.startLine, `missing a value on flag: ${name}`);
      }
      const v = (value ?? "true").toLowerCase();
      if (v !== "true" && v !== "false") {
        throw new ParseError(
          node.startLine,
          `expecting boolean value for flag ${name}, not: ${value}`,
        );
      }
      out[name] = v === "true";
    } else {
      if (value === undefined) {
        throw new ParseError(node.startLine, `missing a value on flag: ${name}`);
      }
      if (kind === "strings") out[name] = [...((out[name] as string[]) ?? []), value];
      else out[name] = value;
    }
  }
  return out;
}

function json(node: Node): string[] | undefined {
  try {
    return parseJsonArray(node.rest);
  } catch {
    throw new ParseError(node.startLine, NOT_STRING_ARRAY);
  }
}

function commandLine(node: Node): CommandLine {
  const j = json(node);
  return j ? { args: j, shell: false } : { args: node.rest ? [node.rest] : [], shell: true };
}

function keyValues(node: Node, escape: string): KeyValue[] {
  const kw = node.cmd.toUpperCase();
  const words = splitWords(node.rest, escape);
  if (!words.length) throw new ParseError(node.startLine, `${kw} requires at least one argument`);
  if (!words[0]!.includes("=")) {
    // The legacy form: KEY name value (the rest of the line).
    const m = node.rest.match(/^(\S+)\s+([\s\S]+)$/);
    if (!m) throw new ParseError(node.startLine, `${kw} must have two arguments`);
    return [{ key: m[1]!, value: m[2]! }];
  }
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq < 0) {
      throw new ParseError(
        node.startLine,
        `Syntax error - can't find = in "${w}". Must be of the form: name=value`,
      );
    }
    if (eq === 0) throw new ParseError(node.startLine, `${kw} names can not be blank`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

function exactlyOne(node: Node): string {
  if (!node.rest) {
    throw new ParseError(node.startLine, `${node.cmd.toUpperCase()} requires exactly one argument`);
  }
  return node.rest;
}

function atLeastOne(node: Node, values: string[]): string[] {
  if (!values.length) {
    throw new ParseError(
      node.startLine,
      `${node.cmd.toUpperCase()} requires at least one argument`,
    );
  }
  return values;
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function str(flags: Record<string, unknown>, k: string): string | undefined {
  return flags[k] as string | undefined;
}

/** Turns one node into an instruction; throws ParseError naming its line. */
export function parseInstruction(node: Node, escape: string): Instruction {
  const line = node.startLine;
  const flags = parseFlagList(node);
  switch (node.cmd) {
    case "from": {
      const words = splitWords(node.rest, escape);
      if (!(words.length === 1 || (words.length === 3 && words[1]!.toLowerCase() === "as"))) {
        throw new ParseError(line, "FROM requires either one or three arguments");
      }
      const stage = words[2]?.toLowerCase();
      if (stage !== undefined && !STAGE_NAME.test(stage)) {
        throw new ParseError(
          line,
          `invalid name for build stage: "${
            words[2]
          }", name can't start with a number or contain symbols`,
        );
      }
      return {
        kind: "from",
        node,
        image: words[0]!,
        ...(stage !== undefined ? { stage } : {}),
        ...(str(flags, "platform") !== undefined ? { platform: str(flags, "platform")! } : {}),
      };
    }
    case "run": {
      const command = commandLine(node);
      atLeastOne(node, command.args);
      if (flags.security === "insecure") {
        throw new ParseError(line, "RUN --security=insecure is not allowed");
      }
      return {
        kind: "run",
        node,
        command,
        heredocs: node.heredocs,
        ...(str(flags, "network") !== undefined ? { network: str(flags, "network")! } : {}),
        mounts: (flags.mount as string[] | undefined) ?? [],
      };
    }
    case "cmd":
    case "entrypoint":
      return { kind: node.cmd, node, command: commandLine(node) };
    case "shell": {
      const j = json(node);
      if (!j) throw new ParseError(line, "SHELL requires the arguments to be in JSON form");
      return { kind: "shell", node, args: atLeastOne(node, j) };
    }
    case "copy":
    case "add": {
      const kw = node.cmd.toUpperCase();
      const words = json(node) ?? splitWords(node.rest, escape);
      if (words.length < 2) {
        throw new ParseError(
          line,
          `${kw} requires at least two arguments, but only one was provided. Destination could not be determined`,
        );
      }
      const dest = words[words.length - 1]!;
      if (parseHeredocWord(dest)) {
        throw new ParseError(line, `${kw} cannot accept a heredoc as a destination`);
      }
      const sources: string[] = [];
      const inline: InlineSource[] = [];
      for (const w of words.slice(0, -1)) {
        const h = node.heredocs.length ? parseHeredocWord(w) : undefined;
        const doc = h && node.heredocs.find((d) => d.name === h.name);
        if (doc) {
          inline.push({
            name: doc.name,
            data: doc.chomp ? chompHeredoc(doc.content) : doc.content,
            expand: doc.expand,
          });
        } else sources.push(w);
      }
      if (flags.parents === true) {
        // BuildKit's labs flag (keep the sources' parent directories): not done here.
        throw new ParseError(line, `${kw} --parents is not supported by tsbox build`);
      }
      if (node.cmd === "copy" && flags.checksum !== undefined) {
        throw new ParseError(line, "unknown flag: checksum");
      }
      return {
        kind: node.cmd,
        node,
        sources,
        inline,
        dest,
        ...(str(flags, "from") !== undefined ? { from: str(flags, "from")! } : {}),
        ...(str(flags, "chown") !== undefined ? { chown: str(flags, "chown")! } : {}),
        ...(str(flags, "chmod") !== undefined ? { chmod: str(flags, "chmod")! } : {}),
        link: flags.link === true,
        exclude: (flags.exclude as string[] | undefined) ?? [],
        ...(str(flags, "checksum") !== undefined ? { checksum: str(flags, "checksum")! } : {}),
        keepGitDir: flags["keep-git-dir"] === true,
        ...(typeof flags.unpack === "boolean" ? { unpack: flags.unpack } : {}),
      };
    }
    case "env":
    case "label":
      return { kind: node.cmd, node, pairs: keyValues(node, escape) };
    case "arg": {
      const words = atLeastOne(node, splitWords(node.rest, escape));
      return {
        kind: "arg",
        node,
        args: words.map((w) => {
          const eq = w.indexOf("=");
          if (eq === 0) throw new ParseError(line, "ARG names can not be blank");
          return eq < 0 ? { key: w } : { key: w.slice(0, eq), value: w.slice(eq + 1) };
        }),
      };
    }
    case "workdir":
    case "user":
    case "stopsignal":
    case "maintainer":
      return { kind: node.cmd, node, value: exactlyOne(node) };
    case "expose":
      return { kind: "expose", node, values: atLeastOne(node, splitWords(node.rest, escape)) };
    case "volume": {
      const values = atLeastOne(node, json(node) ?? splitWords(node.rest, escape));
      if (values.some((v) => v.trim() === "")) {
        throw new ParseError(line, "VOLUME specified can not be an empty string");
      }
      return { kind: "volume", node, values };
    }
    case "healthcheck":
      return healthcheck(node, flags);
    case "onbuild": {
      const expression = node.original.replace(/^\s*ONBUILD\s*/i, "");
      if (!expression) throw new ParseError(line, "ONBUILD requires at least one argument");
      const sub = splitInstruction(expression);
      const cmd = sub.keyword.toLowerCase();
      if (cmd === "onbuild") {
        throw new ParseError(line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      }
      if (cmd === "from" || cmd === "maintainer") {
        throw new ParseError(line, `${cmd.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      }
      const trigger = parseInstruction({
        ...node,
        cmd,
        keyword: sub.keyword,
        original: expression,
        rest: sub.rest,
        flags: sub.flags,
        heredocs: [],
      }, escape);
      return { kind: "onbuild", node, expression, trigger };
    }
  }
  throw new ParseError(line, unknownInstruction(node.keyword));
}

function healthcheck(node: Node, flags: Record<string, unknown>): Instruction {
  const line = node.startLine;
  const m = node.rest.match(/^(\S+)\s*([\s\S]*)$/);
  if (!m) throw new ParseError(line, "HEALTHCHECK requires at least one argument");
  const type = m[1]!.toUpperCase();
  if (type === "NONE") {
    if (m[2] || node.flags.length) {
      throw new ParseError(line, "HEALTHCHECK NONE takes no arguments");
    }
    return { kind: "healthcheck", node, test: ["NONE"] };
  }
  if (type !== "CMD") {
    throw new ParseError(line, `Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  }
  let j: string[] | undefined;
  try {
    j = parseJsonArray(m[2]!);
  } catch {
    throw new ParseError(line, NOT_STRING_ARRAY);
  }
  const test = j ? ["CMD", ...j] : m[2] ? ["CMD-SHELL", m[2]] : [];
  if (test.length < 2) throw new ParseError(line, "Missing command after HEALTHCHECK CMD");
  const s = (k: string) => flags[k] as string | undefined;
  return {
    kind: "healthcheck",
    node,
    test,
    ...(s("interval") !== undefined ? { interval: s("interval")! } : {}),
    ...(s("timeout") !== undefined ? { timeout: s("timeout")! } : {}),
    ...(s("start-period") !== undefined ? { startPeriod: s("start-period")! } : {}),
    ...(s("start-interval") !== undefined ? { startInterval: s("start-interval")! } : {}),
    ...(s("retries") !== undefined ? { retries: s("retries")! } : {}),
  };
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

/** "unknown instruction: RUNN (did you mean RUN?)". */
export function unknownInstruction(keyword: string): string {
  const up = keyword.toUpperCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of KEYWORDS) {
    const d = distance(up, k.toUpperCase());
    if (d < bestD) (best = k.toUpperCase(), bestD = d);
  }
  return `unknown instruction: ${up}${best ? ` (did you mean ${best}?)` : ""}`;
}

/** A whole Dockerfile: instructions, the escape character, parser notes. */
export interface Dockerfile {
  instructions: Instruction[];
  escape: string;
  directives: Record<string, string>;
  warnings: string[];
}

/** Parses and checks a Dockerfile; throws ParseError with the line of the first problem. */
export function parseInstructions(text: string): Dockerfile {
  const p = parseDockerfile(text);
  const instructions = p.nodes.map((n) => parseInstruction(n, p.escape));
  if (!instructions.length) throw new ParseError(0, "file with no instructions");
  const first = instructions.find((i) => i.kind !== "arg");
  if (first && first.kind !== "from") {
    throw new ParseError(
      first.node.startLine,
      `no build stage in current context: ${first.node.keyword.toUpperCase()} before the first FROM`,
    );
  }
  if (!first) {
    throw new ParseError(instructions[0]!.node.startLine, "no build stage in current context");
  }
  return { instructions, escape: p.escape, directives: p.directives, warnings: p.warnings };
}
