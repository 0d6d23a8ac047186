// The stages of a multi-stage Dockerfile and which of them a build needs
// (the reference's "Multi-stage builds", "Understand how ARG and FROM
// interact"): ARGs before the first FROM are global (usable in FROM lines,
// and inside a stage after `ARG NAME`), each FROM starts a stage, `AS name`
// names it, and a stage is built only when the target needs it through
// `FROM stage` or `COPY --from=stage` (by name or index), transitively. The
// automatic platform ARGs (TARGETPLATFORM, BUILDARCH, ...) are global too.
// Pure.

import type { Dockerfile, Instruction } from "./instructions.ts";
import { ParseError } from "./parser.ts";
import { ShellLex } from "./shell_lex.ts";

type From = Extract<Instruction, { kind: "from" }>;
type Arg = Extract<Instruction, { kind: "arg" }>;

/** One stage as written. */
export interface Stage {
  index: number;
  /** `AS name`, lower case. */
  name?: string;
  from: From;
  /** The instructions after FROM. */
  instructions: Instruction[];
}

/** The build arguments Docker predefines: usable in RUN without an ARG, kept out of the cache. */
export const PROXY_ARGS = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/** The automatic platform ARGs of a linux/amd64 build (global scope). */
export function platformArgs(): Record<string, string> {
  return {
    TARGETPLATFORM: "linux/amd64",
    TARGETOS: "linux",
    TARGETARCH: "amd64",
    TARGETVARIANT: "",
    BUILDPLATFORM: "linux/amd64",
    BUILDOS: "linux",
    BUILDARCH: "amd64",
    BUILDVARIANT: "",
  };
}

/** A Dockerfile split into global ARGs and stages. */
export interface Stages {
  metaArgs: Arg[];
  stages: Stage[];
}

/** Splits the instructions at each FROM. */
export function splitStages(df: Dockerfile): Stages {
  const metaArgs: Arg[] = [];
  const stages: Stage[] = [];
  for (const i of df.instructions) {
    if (i.kind === "from") {
      const name = i.stage;
      if (name !== undefined && stages.some((s) => s.name === name)) {
        throw new ParseError(i.node.startLine, `duplicate stage name "${name}"`);
      }
      stages.push({
        index: stages.length,
        ...(name !== undefined ? { name } : {}),
        from: i,
        instructions: [],
      });
    } else if (!stages.length) {
      if (i.kind === "arg") metaArgs.push(i);
    } else stages[stages.length - 1]!.instructions.push(i);
  }
  return { metaArgs, stages };
}

/**
 * The values of the global ARGs: the platform ARGs, then each ARG before the
 * first FROM (its default expanded with the ones before it), overridden by
 * --build-arg. Also returns the --build-arg names they consumed.
 */
export function metaArgValues(
  metaArgs: readonly Arg[],
  buildArgs: Readonly<Record<string, string>>,
  escape: string,
): { values: Map<string, string | undefined>; used: Set<string> } {
  const values = new Map<string, string | undefined>(Object.entries(platformArgs()));
  const used = new Set<string>();
  const lex = new ShellLex({ escape });
  for (const a of metaArgs) {
    for (const kv of a.args) {
      let v: string | undefined;
      try {
        v = kv.value === undefined ? undefined : lex.processWord(kv.value, (n) => values.get(n));
      } catch (e) {
        throw new ParseError(a.node.startLine, (e as Error).message);
      }
      if (kv.key in buildArgs) {
        v = buildArgs[kv.key];
        used.add(kv.key);
      }
      values.set(kv.key, v);
    }
  }
  return { values, used };
}

/** The stage a FROM or --from word names: an earlier stage by name or index, else undefined. */
export function stageByRef(
  stages: readonly Stage[],
  ref: string,
  before: number,
): Stage | undefined {
  const r = ref.toLowerCase();
  if (/^\d+$/.test(r)) {
    const i = Number(r);
    return i < before ? stages[i] : undefined;
  }
  return stages.slice(0, before).find((s) => s.name === r);
}

/**
 * The stage to build: `--target` by name, else the last one. Throws with
 * Docker's message for an unknown target.
 */
export function targetStage(stages: readonly Stage[], target: string | undefined): Stage {
  if (target === undefined || target === "") return stages[stages.length - 1]!;
  const s = stages.find((x) => x.name === target.toLowerCase());
  if (!s) throw new ParseError(0, `target stage "${target}" could not be found`);
  return s;
}

/**
 * The stages the target needs, in Dockerfile order: through FROM and
 * COPY --from, transitively (variables in them expanded with the global
 * ARGs and the stage's own ARG defaults).
 */
export function neededStages(
  stages: readonly Stage[],
  target: Stage,
  meta: ReadonlyMap<string, string | undefined>,
  escape: string,
): Stage[] {
  const lex = new ShellLex({ escape });
  const need = new Set<number>();
  const visit = (s: Stage) => {
    if (need.has(s.index)) return;
    need.add(s.index);
    const expand = (w: string, local: Map<string, string | undefined>) => {
      try {
        return lex.processWord(w, (n) => local.get(n) ?? meta.get(n));
      } catch {
        return w;
      }
    };
    const base = stageByRef(stages, expand(s.from.image, new Map()), s.index);
    if (base) visit(base);
    const local = new Map<string, string | undefined>();
    for (const i of s.instructions) {
      if (i.kind === "arg") {
        for (const kv of i.args) {
          local.set(kv.key, kv.value === undefined ? meta.get(kv.key) : expand(kv.value, local));
        }
      }
      if (i.kind !== "copy" || i.from === undefined) continue;
      const dep = stageByRef(stages, expand(i.from, local), s.index);
      if (dep) visit(dep);
    }
  };
  visit(target);
  return stages.filter((s) => need.has(s.index));
}
