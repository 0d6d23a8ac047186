// `tsbox build`: the Dockerfile is parsed and the whole build planned first
// (plan.ts: bad Dockerfiles stop there, with their line, having made
// nothing), then each stage the target needs runs step by step, like
// Docker's classic builder: every step makes an image (nameless,
// intermediate) on top of the previous one; RUN in a container of it
// (run_step.ts), WORKDIR/COPY/ADD straight into a new layer (fs_step.ts),
// metadata only in the configuration; an empty change adds no layer. A step
// whose cache key (cache_key.ts) is in the cache reuses that step's image.
// The target's last image is the result: tagged with -t, recorded as a
// build result. A step that fails (a RUN's exit code, a missing source)
// stops the build with the Dockerfile's name and line; its container and
// half-made layer are removed, the steps before it stay in the cache.

import { TsboxError, UsageError } from "../../errors.ts";
import {
  addBuildResult,
  cacheForget,
  cacheLookup,
  cacheStore,
  cacheTouch,
} from "../../state/build_cache.ts";
import { cacheKey } from "./cache_key.ts";
import { type BuildContext, openContext } from "./context.ts";
import type { Step } from "./dispatch.ts";
import { PatternMatcher } from "./dockerignore.ts";
import { inlineFile } from "./copy.ts";
import { changeTree, copyWriter, download, isLocalArchive, workdirWriter } from "./fs_step.ts";
import { parseInstructions } from "./instructions.ts";
import { ParseError } from "./parser.ts";
import { type BuildPlan, planBuild, type PlannedStage } from "./plan.ts";
import { cacheMountsDir, runMounts, runStep } from "./run_step.ts";
import { collectSources, resolveInRoot, type SourceGroup, type SourceRoot } from "./sources.ts";
import type { BuildStore, ImageDoc, StoreImage, StoreLayer } from "./store_port.ts";
import { checksumGroups } from "./sources.ts";
import { openDetachedOverlay } from "../../mount/detached.ts";
import { sys } from "../../../ffi/syscall.ts";
import { O } from "../../../ffi/constants.ts";

/** What `tsbox build` was asked. */
export interface BuildOptions {
  /** A directory, or "-" (standard input). */
  context: string;
  file?: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  /** bridge (default), none, host, or a network's name. */
  network: string;
  labels: Record<string, string>;
  quiet: boolean;
}

/** A build error at a line of the Dockerfile: "Dockerfile:7: unknown instruction: RUNN". */
export class BuildError extends TsboxError {
  override readonly name: string = "BuildError";
  constructor(file: string, line: number, cause: unknown) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    super(line > 0 ? `${file}:${line}: ${msg}` : `${file}: ${msg}`, {
      ...(cause instanceof Error && !(cause instanceof ParseError) && cause.cause !== undefined
        ? { cause: cause.cause }
        : {}),
      exitCode: 1,
    });
  }
}

const short = (id: string) => id.slice(0, 12);

/** One build, as it runs. */
class Build {
  readonly images = new Map<string, StoreImage>();
  readonly stages = new Map<number, StoreImage | undefined>();
  readonly out: (line: string) => void;
  running: string | undefined;
  interrupted = false;
  stepNo = 0;
  total = 0;

  constructor(
    readonly opts: BuildOptions,
    readonly store: BuildStore,
    readonly ctx: BuildContext,
  ) {
    this.out = opts.quiet ? () => {} : (l) => console.log(l);
  }

  get file(): string {
    return this.ctx.dockerfile.name;
  }

  async image(ref: string): Promise<StoreImage> {
    let img = this.images.get(ref);
    if (img) return img;
    img = this.opts.pull ? undefined : this.store.findLocal(ref);
    img ??= await this.store.pull(ref, this.opts.quiet);
    this.images.set(ref, img);
    return img;
  }

  checkInterrupted(): void {
    if (this.interrupted) throw new TsboxError("the build was interrupted", { exitCode: 130 });
  }

  /** Runs the planned stages; returns the target's image. */
  async run(plan: BuildPlan): Promise<StoreImage> {
    this.total = plan.stages.reduce((a, s) => a + 1 + s.steps.length - s.triggers, 0) +
      (Object.keys(this.opts.labels).length ? 1 : 0);
    let last: StoreImage | undefined;
    for (const s of plan.stages) last = await this.stage(s);
    if (Object.keys(this.opts.labels).length) {
      const labels = Object.entries(this.opts.labels).map(([k, v]) => `${k}=${v}`).join(" ");
      const config = structuredClone(last?.doc.config ?? {});
      config.Labels = { ...(config.Labels ?? {}), ...this.opts.labels };
      this.out(`Step ${++this.stepNo}/${this.total} : LABEL ${labels}`);
      last = await this.step({
        kind: "config",
        text: `LABEL ${labels}`,
        line: 0,
        config,
        history: `LABEL ${labels}`,
        cacheText: `LABEL ${JSON.stringify(this.opts.labels)}`,
      }, last);
    }
    return last ?? await this.emptyImage();
  }

  async emptyImage(): Promise<StoreImage> {
    return await this.store.putImage(emptyDoc(), [], null);
  }

  async stage(s: PlannedStage): Promise<StoreImage | undefined> {
    this.out(`Step ${++this.stepNo}/${this.total} : ${s.text}`);
    let current: StoreImage | undefined;
    try {
      if (s.base.kind === "image") current = await this.image(s.base.ref);
      else if (s.base.kind === "stage") current = this.stages.get(s.base.index);
    } catch (e) {
      throw new BuildError(this.file, s.line, e);
    }
    if (current) this.out(` ---> ${short(current.id)}`);
    if (s.triggers) {
      this.out(`# Executing ${s.triggers} build trigger${s.triggers > 1 ? "s" : ""}`);
    }
    for (const [i, step] of s.steps.entries()) {
      if (i >= s.triggers) this.out(`Step ${++this.stepNo}/${this.total} : ${step.text}`);
      current = await this.step(step, current);
    }
    this.stages.set(s.index, current);
    return current;
  }

  /** Runs (or reuses) one step on `parent`; returns its image. */
  async step(step: Step, parent: StoreImage | undefined): Promise<StoreImage> {
    this.checkInterrupted();
    try {
      return await this.#step(step, parent);
    } catch (e) {
      if (e instanceof BuildError || (e instanceof TsboxError && e.exitCode === 130)) throw e;
      throw new BuildError(this.file, step.line, e);
    }
  }

  async #step(step: Step, parent: StoreImage | undefined): Promise<StoreImage> {
    let content: string | undefined;
    let from: string | undefined;
    let prepared: Prepared | undefined;
    if (step.kind === "copy") {
      prepared = await this.prepareCopy(step);
      content = prepared.content;
      from = prepared.fromId;
    }
    try {
      const key = cacheKey({
        parent: parent?.id ?? "scratch",
        step: step.cacheText,
        content,
        from,
      });
      if (!this.opts.noCache) {
        const hit = cacheLookup(key);
        const img = hit ? this.store.image(hit) : undefined;
        if (img) {
          cacheTouch(key);
          this.out(" ---> Using cache");
          this.out(` ---> ${short(img.id)}`);
          return img;
        }
        if (hit) cacheForget(key);
      }
      let layer: StoreLayer | null = null;
      if (step.kind === "workdir") {
        layer = await changeTree(this.store, parent, workdirWriter(step.dir, step.user));
      } else if (step.kind === "copy") {
        const p = prepared!;
        layer = await changeTree(
          this.store,
          parent,
          copyWriter({
            dest: step.dest,
            groups: p.groups,
            archives: p.archives,
            inline: step.inline.map((f) => inlineFile(f.name, f.data)),
            ...(step.chown !== undefined ? { chown: step.chown } : {}),
            ...(step.chmod !== undefined ? { chmod: step.chmod } : {}),
          }),
        );
      } else if (step.kind === "run") {
        layer = await this.runStep(step, parent);
      }
      this.checkInterrupted();
      const img = await this.commit(step, parent, layer);
      cacheStore(key, img.id, step.text);
      this.out(` ---> ${short(img.id)}`);
      return img;
    } finally {
      prepared?.close();
    }
  }

  async runStep(step: Extract<Step, { kind: "run" }>, parent: StoreImage | undefined) {
    if (!parent || !parent.layers.length) {
      throw new TsboxError(
        "RUN needs a filesystem: the stage has no files yet (FROM scratch); COPY a shell in first",
        { exitCode: 1 },
      );
    }
    const mounts = runMounts(step.mounts, {
      contextPath: (p) => {
        const real = resolveInRoot(this.ctx, p.replace(/^\/+/, ""));
        if (real === undefined) {
          throw new TsboxError(`RUN --mount: ${JSON.stringify(p)} is not in the build context`);
        }
        return real ? `${this.ctx.base}/${real}` : this.ctx.base;
      },
      cacheDir: (id) => {
        const d = `${cacheMountsDir()}/${encodeURIComponent(id)}`;
        Deno.mkdirSync(d, { recursive: true, mode: 0o755 });
        return d;
      },
    });
    return await runStep(this, {
      parent,
      argv: step.argv,
      env: step.env,
      network: step.network ?? this.opts.network,
      files: step.files,
      ...mounts,
    });
  }

  /** Stores the image of a step: the parent's layers and history plus this step's. */
  async commit(
    step: Step,
    parent: StoreImage | undefined,
    layer: StoreLayer | null,
  ): Promise<StoreImage> {
    const base = parent?.doc ?? emptyDoc();
    const created = new Date().toISOString();
    const config = structuredClone(step.config);
    const author = typeof config.Author === "string" ? config.Author : base.author;
    delete config.Author;
    const doc: ImageDoc = {
      ...base,
      created,
      architecture: "amd64",
      os: "linux",
      ...(author ? { author } : {}),
      config,
      rootfs: {
        type: "layers",
        diff_ids: [...base.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])],
      },
      history: [
        ...(base.history ?? []),
        { created, created_by: step.history, ...(layer ? {} : { empty_layer: true }) },
      ],
    };
    return await this.store.putImage(
      doc,
      [...(parent?.layers ?? []), ...(layer ? [layer] : [])],
      parent?.id ?? null,
    );
  }

  /** Reads what a COPY/ADD will write, and its checksum. */
  async prepareCopy(step: Extract<Step, { kind: "copy" }>): Promise<Prepared> {
    const kw = step.add ? "ADD" : "COPY";
    const closers: (() => void)[] = [];
    const close = () => closers.splice(0).reverse().forEach((c) => c());
    try {
      let root: SourceRoot = this.ctx;
      let fromId: string | undefined;
      if (step.from) {
        const img = "stage" in step.from
          ? this.stages.get(step.from.stage)
          : await this.image(step.from.image);
        fromId = img?.id ?? "scratch";
        const fd = this.treeOf(img, closers);
        root = { base: `/proc/self/fd/${fd}`, fd, keepOwners: true };
      }
      const exclude = step.exclude.length ? new PatternMatcher(step.exclude) : undefined;
      const urls = step.add ? step.sources.filter((s) => /^https?:\/\//.test(s)) : [];
      if (step.add && step.sources.some((s) => /^git@|\.git($|#)/.test(s))) {
        throw new TsboxError("ADD of a git repository is not supported by tsbox build", {
          exitCode: 1,
        });
      }
      const local = step.sources.filter((s) => !urls.includes(s));
      const groups: SourceGroup[] = collectSources(root, local, {
        kw,
        ...(exclude ? { exclude } : {}),
        allowEmptyWildcard: false,
      });
      if (urls.length) {
        const dir = this.store.tempDir("add");
        closers.push(() => Deno.removeSync(dir, { recursive: true }));
        for (const u of urls) groups.push(await download(u, dir, step.checksum));
      }
      const archives: SourceGroup[] = [];
      if (step.add && step.unpack !== false) {
        for (const g of groups) {
          if (g.dir || g.entries[0]!.kind !== "file" || /^https?:/.test(g.source)) continue;
          if (await isLocalArchive(g.entries[0]!.path)) archives.push(g);
        }
      }
      const plain = groups.filter((g) => !archives.includes(g));
      const content = await checksumGroups([...plain, ...archives], step.inline);
      return { groups: plain, archives, content, ...(fromId ? { fromId } : {}), close };
    } catch (e) {
      close();
      throw e;
    }
  }

  /** A read-only root fd of an image's tree (closed by `closers`). */
  treeOf(img: StoreImage | undefined, closers: (() => void)[]): number {
    let lower = img ? this.store.lowerDirs(img) : [];
    if (!lower.length) {
      const d = this.store.tempDir("scratch");
      closers.push(() => Deno.removeSync(d, { recursive: true }));
      lower = [d];
    }
    const fd = lower.length === 1
      ? sys("open", [lower[0]!, O.PATH | O.DIRECTORY | O.CLOEXEC])
      : openDetachedOverlay({ lower });
    closers.push(() => sys("close", [fd]));
    return fd;
  }
}

/** What a COPY/ADD reads, prepared before its cache lookup. */
interface Prepared {
  groups: SourceGroup[];
  archives: SourceGroup[];
  content: string;
  fromId?: string;
  close(): void;
}

function emptyDoc(): ImageDoc {
  return {
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
    history: [],
  };
}

/**
 * Builds an image; returns its id. Prints Docker's plain progress (nothing
 * with -q). Throws BuildError (exit code 1) for a bad Dockerfile or a failed
 * step, UsageError for bad options.
 */
export async function build(
  opts: BuildOptions,
  store: BuildStore,
  stdin: () => ReadableStream<Uint8Array>,
): Promise<{ id: string; tags: string[] }> {
  const tags = opts.tags.map((t) => store.normalizeTag(t));
  // Files and directories the build makes get exactly the modes it asks for.
  sys("umask", [0o022]);
  const ctx = await openContext(opts.context, {
    ...(opts.file !== undefined ? { file: opts.file } : {}),
    stdin,
    tempDir: () => store.tempDir("context"),
  });
  const b = new Build(opts, store, ctx);
  const onSignal = () => {
    b.interrupted = true;
    if (b.running) {
      void import("../../container/lifecycle.ts").then((l) => l.killContainer(b.running!)).catch(
        () => {},
      );
    }
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    let plan: BuildPlan;
    try {
      const df = parseInstructions(ctx.dockerfile.text);
      if (df.directives.syntax) {
        console.error(
          `note: "# syntax=${df.directives.syntax}" is ignored: tsbox builds with its own Dockerfile frontend`,
        );
      }
      for (const w of df.warnings) console.error(`[Warning] ${w}`);
      plan = await planBuild(
        df,
        { buildArgs: opts.buildArgs, ...(opts.target ? { target: opts.target } : {}) },
        async (ref, line) => {
          try {
            return structuredClone((await b.image(ref)).doc.config ?? {});
          } catch (e) {
            throw new BuildError(ctx.dockerfile.name, line, e);
          }
        },
      );
    } catch (e) {
      if (e instanceof ParseError) throw new BuildError(ctx.dockerfile.name, e.line, e);
      throw e;
    }
    const img = await b.run(plan);
    addBuildResult(img.id);
    for (const t of tags) store.tag(img.id, t);
    if (plan.unusedArgs.length) {
      console.error(
        `[Warning] One or more build-args [${plan.unusedArgs.join(" ")}] were not consumed`,
      );
    }
    return { id: img.id, tags };
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    ctx.close();
  }
}

export { UsageError };
