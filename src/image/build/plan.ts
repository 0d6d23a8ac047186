// A whole build, planned before anything runs: the stages the target needs,
// each with its base (scratch, an earlier stage, or an image whose
// configuration `resolve` provides — pulling it if needed), its ONBUILD
// triggers, and its steps with their expanded arguments and configurations
// (dispatch.ts). A bad Dockerfile, an unknown target, a bad substitution or
// an unsupported platform stops the build here, before any container or
// layer is made. Pure but for `resolve`.

import { cloneConfig, type RunConfig, scratchConfig } from "./image_config.ts";
import type { Dockerfile } from "./instructions.ts";
import { dispatch, onbuildTriggers, type StageState, type Step } from "./dispatch.ts";
import { ParseError } from "./parser.ts";
import { ShellLex } from "./shell_lex.ts";
import {
  metaArgValues,
  neededStages,
  PROXY_ARGS,
  splitStages,
  stageByRef,
  targetStage,
} from "./stages.ts";

/** Where a stage starts from. */
export type StageBase =
  | { kind: "scratch" }
  | { kind: "stage"; index: number }
  | { kind: "image"; ref: string };

/** One stage to build. */
export interface PlannedStage {
  index: number;
  name?: string;
  base: StageBase;
  /** The FROM line as written, and its line number. */
  text: string;
  line: number;
  /** Steps, ONBUILD triggers of the base first. */
  steps: Step[];
  /** How many of the steps are the base's ONBUILD triggers. */
  triggers: number;
  /** The configuration the stage ends with. */
  config: RunConfig;
}

/** What to build, in order; the last stage is the target. */
export interface BuildPlan {
  stages: PlannedStage[];
  /** --build-arg names no ARG consumed (Docker warns about them). */
  unusedArgs: string[];
}

/** Options of a build plan. */
export interface PlanOptions {
  buildArgs: Readonly<Record<string, string>>;
  target?: string;
}

/** Gives the configuration of a base image (pulling it when needed); throws when it cannot. */
export type ResolveBase = (ref: string, line: number) => Promise<RunConfig>;

/** Plans a build of `df`. Throws ParseError (with a line) for what Docker refuses. */
export async function planBuild(
  df: Dockerfile,
  opts: PlanOptions,
  resolve: ResolveBase,
): Promise<BuildPlan> {
  const { metaArgs, stages } = splitStages(df);
  const { values: meta, used } = metaArgValues(metaArgs, opts.buildArgs, df.escape);
  const target = targetStage(stages, opts.target);
  const needed = neededStages(stages, target, meta, df.escape);
  const lex = new ShellLex({ escape: df.escape });
  const planned: PlannedStage[] = [];
  for (const s of needed) {
    const line = s.from.node.startLine;
    let ref: string;
    try {
      ref = lex.processWord(s.from.image, (n) => meta.get(n));
    } catch (e) {
      throw new ParseError(line, (e as Error).message);
    }
    if (!ref) throw new ParseError(line, `base name (${s.from.image}) should not be blank`);
    if (s.from.platform !== undefined) {
      const p = lex.processWord(s.from.platform, (n) => meta.get(n));
      if (p !== "linux/amd64" && p !== "linux/x86_64") {
        throw new ParseError(
          line,
          `platform ${p} is not supported: tsbox builds linux/amd64 images`,
        );
      }
    }
    const stage = stageByRef(stages, ref, s.index);
    let base: StageBase;
    let config: RunConfig;
    if (stage) {
      const p = planned.find((x) => x.index === stage.index)!;
      base = { kind: "stage", index: stage.index };
      config = cloneConfig(p.config);
    } else if (ref.toLowerCase() === "scratch") {
      base = { kind: "scratch" };
      config = scratchConfig();
    } else {
      base = { kind: "image", ref };
      config = cloneConfig(await resolve(ref, line));
    }
    const triggers = onbuildTriggers(config, line);
    if (triggers.length) config.OnBuild = null;
    const st: StageState = { config, args: new Map(), cmdSet: false };
    const ctx = {
      escape: df.escape,
      buildArgs: opts.buildArgs,
      meta,
      used,
      stageRef: (r: string) => stageByRef(stages, r, s.index)?.index,
    };
    const steps = [...triggers, ...s.instructions].map((i) => dispatch(i, st, ctx));
    planned.push({
      index: s.index,
      ...(s.name !== undefined ? { name: s.name } : {}),
      base,
      text: s.from.node.original,
      line,
      steps,
      triggers: triggers.length,
      config: st.config,
    });
  }
  const unusedArgs = Object.keys(opts.buildArgs).filter((k) =>
    !used.has(k) && !PROXY_ARGS.includes(k)
  ).sort();
  return { stages: planned, unusedArgs };
}
