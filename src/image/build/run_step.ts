// RUN: the command runs in a container of the build state, created and
// started like any `tsbox run` (the supervisor's "run" request: RunOptions
// -> checkRunOptions -> planContainer -> createFromPlan -> start), with the
// image's Env, User, WorkingDir (made when missing) and the step's build
// arguments, on the build's network (bridge by default; `--network` and
// `RUN --network` say none or host), its output on ours (or nowhere with
// -q), stdin /dev/null. Its overlay upper dir then becomes the layer, and
// the container is removed, also when the command fails or the build is
// interrupted.

import { O } from "../../../ffi/constants.ts";
import { sys, sysRaw } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import { containerDir, stateRoot } from "../../paths.ts";
import { checkRunOptions } from "../../spec/run_config.ts";
import { defaultRunOptions, type RunOptions } from "../../spec/run_options.ts";
import { SupervisorClient } from "../../supervisor/client.ts";
import { answerError } from "../../supervisor/protocol.ts";
import type { RunFile } from "./dispatch.ts";
import type { BuildStore, StoreImage, StoreLayer } from "./store_port.ts";

/** What one RUN runs. */
export interface RunRequest {
  /** The container's name (Docker shows the intermediate container before it starts). */
  name: string;
  /** The image to run on (an id). */
  image: string;
  argv: string[];
  /** K=V build arguments, besides the image's Env. */
  env: string[];
  /** bridge (or a network's name), none or host. */
  network: string;
  /** -v and --tmpfs values for RUN --mount and heredoc scripts. */
  volumes: string[];
  tmpfs: string[];
  /** Discard the command's output (-q). */
  quiet: boolean;
}

/** A RUN container that ran: its exit code, id and upper dir. */
export interface RunOutcome {
  code: number;
  id: string;
  upper: string;
}

/** The RunOptions of a RUN container. */
export function runOptions(r: RunRequest): RunOptions {
  const [entrypoint = "", ...command] = r.argv;
  return {
    ...defaultRunOptions(),
    name: r.name,
    image: r.image,
    entrypoint,
    command,
    env: [...r.env],
    network: r.network,
    volumes: [...r.volumes],
    tmpfs: [...r.tmpfs],
    labels: ["tsbox.build=1"],
  };
}

/** Points fds 1 and 2 at /dev/null while `fn` runs (the supervisor takes them for the container). */
async function withOutputTo<T>(quiet: boolean, fn: () => Promise<T>): Promise<T> {
  if (!quiet) return await fn();
  const nul = sys("open", ["/dev/null", O.WRONLY | O.CLOEXEC]);
  const saved = [sys("dup", [1]), sys("dup", [2])];
  try {
    sys("dup2", [nul, 1]);
    sys("dup2", [nul, 2]);
    return await fn();
  } finally {
    sys("dup2", [saved[0]!, 1]);
    sys("dup2", [saved[1]!, 2]);
    for (const fd of [...saved, nul]) sys("close", [fd]);
  }
}

/**
 * Runs a RUN step's container to its end. `started` is told its id as soon
 * as it exists (to remove it on interruption). The container is left for
 * the caller to commit and remove.
 */
export async function runContainer(
  r: RunRequest,
  started: (id: string) => void,
): Promise<RunOutcome> {
  const options = runOptions(r);
  checkRunOptions(options);
  const client = await SupervisorClient.connect();
  try {
    const id = await withOutputTo(r.quiet, async () => {
      await client.send({ op: "run", options, clientPid: Deno.pid, trace: false });
      for (;;) {
        const m = await client.next();
        if (m === undefined) {
          throw new TsboxError("lost the supervisor while starting a RUN container");
        }
        if ("ok" in m) {
          if (!m.ok) throw answerError(m);
          started(m.id!);
          return m.id!;
        }
      }
    });
    for (;;) {
      const m = await client.next();
      if (m === undefined) throw new TsboxError("lost the supervisor while a RUN container ran");
      if ("exit" in m) return { code: m.exit, id, upper: `${containerDir(id)}/upper` };
    }
  } finally {
    client.close();
  }
}

/** Where RUN --mount=type=cache directories are kept (`builder prune` empties it). */
export function cacheMountsDir(): string {
  return `${stateRoot()}/build-cache-mounts`;
}

/**
 * RUN --mount values as run flags: type=cache (a directory kept under the
 * state root, by id or target), type=tmpfs, type=bind (from the build
 * context, read-only). Other types are refused.
 */
export function runMounts(
  mounts: readonly string[],
  ctx: {
    /** The real path of a path of the build context (resolved inside it). */
    contextPath: (path: string) => string;
    cacheDir: (id: string) => string;
  },
): { volumes: string[]; tmpfs: string[] } {
  const volumes: string[] = [];
  const tmpfs: string[] = [];
  for (const m of mounts) {
    const kv: Record<string, string> = {};
    for (const part of m.split(",")) {
      const i = part.indexOf("=");
      kv[(i < 0 ? part : part.slice(0, i)).trim()] = i < 0 ? "true" : part.slice(i + 1);
    }
    const type = kv.type ?? "bind";
    const target = kv.target ?? kv.dst ?? kv.destination;
    if (!target || !target.startsWith("/")) {
      throw new TsboxError(`RUN --mount=${m}: an absolute target is required`, { exitCode: 1 });
    }
    const ro = kv.readonly === "true" || kv.ro === "true" || kv.readonly === "" || kv.ro === "";
    switch (type) {
      case "cache":
        volumes.push(`${ctx.cacheDir(kv.id ?? target)}:${target}${ro ? ":ro" : ""}`);
        break;
      case "tmpfs":
        tmpfs.push(target);
        break;
      case "bind": {
        if (kv.from !== undefined) {
          throw new TsboxError(`RUN --mount=${m}: bind mounts from=stage are not supported`, {
            exitCode: 1,
          });
        }
        volumes.push(`${ctx.contextPath(kv.source ?? kv.src ?? "")}:${target}:ro`);
        break;
      }
      default:
        throw new TsboxError(
          `RUN --mount=${m}: mount type ${JSON.stringify(type)} is not supported`,
          {
            exitCode: 1,
          },
        );
    }
  }
  return { volumes, tmpfs };
}

/** Mountpoints the engine makes in a container's upper dir: not changes of the RUN's own. */
const ENGINE_STUBS = ["etc/hostname", "etc/hosts", "etc/resolv.conf", "dev", "proc", "sys"];

function isEmpty(path: string, st: Deno.FileInfo): boolean {
  if (st.isFile) return st.size === 0;
  if (!st.isDirectory) return false;
  for (const _ of Deno.readDirSync(path)) return false;
  return true;
}

/** The entry of the image's layers at `rel` (topmost first; a whiteout hides it). */
function lowerEntry(lowers: readonly string[], rel: string): Deno.FileInfo | undefined {
  for (const l of lowers) {
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(`${l}/${rel}`);
    } catch {
      continue;
    }
    return st.isCharDevice && st.rdev === 0 ? undefined : st;
  }
  return undefined;
}

/** Whether overlay marked an upper directory opaque (it hides the lower one's entries). */
function isOpaque(path: string): boolean {
  const v = new Uint8Array(4);
  return sysRaw("lgetxattr", [path, "trusted.overlay.opaque", v, v.length]) > 0;
}

/**
 * Removes the empty mountpoints the engine made in an upper dir, when the
 * image's layers (`lowers`, topmost first) lack them: they are not the
 * command's changes (BuildKit removes its mount stubs too). Their parents
 * go too when they are left empty and were made for them, or were only
 * copied up for them (same mode and owner as below: their time is all that
 * changed). So a RUN that changes nothing adds no layer.
 */
export function removeStubs(upper: string, lowers: readonly string[], targets: readonly string[]) {
  for (const t of [...ENGINE_STUBS, ...targets.map((x) => x.replace(/^\/+|\/+$/g, ""))]) {
    let rel = t;
    let first = true;
    while (rel) {
      const p = `${upper}/${rel}`;
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(p);
      } catch {
        break;
      }
      if (!isEmpty(p, st)) break;
      const below = lowerEntry(lowers, rel);
      if (below) {
        const sameDir = !first && st.isDirectory && below.isDirectory && !isOpaque(p) &&
          st.mode === below.mode && st.uid === below.uid && st.gid === below.gid;
        if (!sameDir) break;
      }
      Deno.removeSync(p);
      first = false;
      rel = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    }
  }
}

/** What the builder gives a RUN step. */
export interface RunHost {
  store: BuildStore;
  out: (line: string) => void;
  opts: { quiet: boolean };
  /** The id of the RUN container while one exists (to kill it on interruption). */
  running: string | undefined;
}

/** A RUN step to execute. */
export interface RunStep {
  parent: StoreImage;
  argv: string[];
  env: string[];
  network: string;
  files: RunFile[];
  volumes: string[];
  tmpfs: string[];
}

/**
 * Executes a RUN: its container runs to the end; a non-zero exit is an error
 * (with BuildKit's message); otherwise its changes become a layer (null when
 * none). The container is removed in every case.
 */
export async function runStep(host: RunHost, s: RunStep): Promise<StoreLayer | null> {
  let pipes: string | undefined;
  const volumes = [...s.volumes];
  if (s.files.length) {
    pipes = host.store.tempDir("pipes");
    Deno.chmodSync(pipes, 0o755);
    for (const f of s.files) {
      Deno.writeTextFileSync(`${pipes}/${f.name}`, f.data, { mode: 0o755 });
      Deno.chmodSync(`${pipes}/${f.name}`, 0o755);
    }
    volumes.push(`${pipes}:/dev/pipes:ro`);
  }
  let id: string | undefined;
  // A name that reads like an id: the progress names the container before it exists.
  const name = [...crypto.getRandomValues(new Uint8Array(6))].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
  host.out(` ---> Running in ${name}`);
  try {
    const outcome = await runContainer({
      name,
      image: s.parent.id,
      argv: s.argv,
      env: s.env,
      network: s.network,
      volumes,
      tmpfs: s.tmpfs,
      quiet: host.opts.quiet,
    }, (started) => {
      id = started;
      host.running = started;
    });
    if (outcome.code !== 0) {
      throw new TsboxError(
        `process ${
          JSON.stringify(s.argv.join(" "))
        } did not complete successfully: exit code: ${outcome.code}`,
        { exitCode: 1 },
      );
    }
    const targets = [
      ...volumes.map((v) => v.split(":")[1] ?? ""),
      ...s.tmpfs.map((t) => t.split(":")[0]!),
    ];
    removeStubs(outcome.upper, host.store.lowerDirs(s.parent), targets);
    return await host.store.commitUpper(outcome.upper, s.parent.layers.at(-1)?.chainId ?? null);
  } finally {
    if (id !== undefined) {
      host.out(`Removing intermediate container ${name}`);
      const { removeContainer } = await import("../../container/lifecycle.ts");
      await removeContainer(id, true).catch(() => {});
      host.running = undefined;
    }
    if (pipes) Deno.removeSync(pipes, { recursive: true });
  }
}
