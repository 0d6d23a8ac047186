// The build context and its Dockerfile, as `docker build` takes them: a
// directory; or `-`, standard input, which is either a tar archive (plain or
// gzip, streamed into a temporary directory by the safe extractor: no entry
// lands outside it) or a Dockerfile alone (then the context is empty). The
// Dockerfile is CONTEXT/Dockerfile (or `dockerfile`), or -f PATH (relative to
// the current directory; inside the archive for `-`), or -f - (standard
// input). Its .dockerignore is <Dockerfile>.dockerignore next to it, else
// CONTEXT/.dockerignore (BuildKit's rule). The context is read in place:
// sources.ts resolves every path inside it, so its symlinks never lead out.

import { O } from "../../../ffi/constants.ts";
import { sys } from "../../../ffi/syscall.ts";
import { TsboxError, UsageError } from "../../errors.ts";
import { parseDockerignore, PatternMatcher } from "./dockerignore.ts";
import type { SourceRoot } from "./sources.ts";

/** An open build context. */
export interface BuildContext extends SourceRoot {
  /** The Dockerfile's text and the name errors give it ("Dockerfile", or -f as typed). */
  dockerfile: { text: string; name: string };
  /** Where the .dockerignore came from, if any. */
  ignoreFile?: string;
  /** Closes the fd and removes a temporary context. */
  close(): void;
}

/** How to open a context. */
export interface ContextOptions {
  /** -f as typed. */
  file?: string;
  /** Standard input (for `-` and `-f -`). */
  stdin: () => ReadableStream<Uint8Array>;
  /** A directory to unpack a context from standard input in (removed by close). */
  tempDir: () => string;
}

const q = JSON.stringify;

async function readAll(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of s) chunks.push(c);
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) (out.set(c, o), o += c.length);
  return out;
}

function readText(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new TsboxError(`${what} ${q(path)}`, { cause: e, exitCode: 1 });
  }
}

/** The first bytes of a stream and the stream again, whole. */
async function peek(s: ReadableStream<Uint8Array>, n: number) {
  const reader = s.getReader();
  const head: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await reader.read();
    if (r.done) break;
    head.push(r.value);
    got += r.value.length;
  }
  const stream = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (const h of head) ctl.enqueue(h);
    },
    async pull(ctl) {
      const r = await reader.read();
      if (r.done) ctl.close();
      else ctl.enqueue(r.value);
    },
    cancel(why) {
      return reader.cancel(why);
    },
  });
  const first = new Uint8Array(Math.min(got, n));
  let o = 0;
  for (const h of head) {
    if (o >= first.length) break;
    first.set(h.subarray(0, first.length - o), o);
    o += Math.min(h.length, first.length - o);
  }
  return { first, stream };
}

/** Whether the first bytes look like gzip or a tar header (its checksum is right). */
export function looksLikeArchive(b: Uint8Array): boolean {
  if (b[0] === 0x1f && b[1] === 0x8b) return true;
  if (b.length < 512) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  const field = new TextDecoder().decode(b.subarray(148, 156)).replace(/[\0 ]+$/, "").trim();
  return /^[0-7]+$/.test(field) && parseInt(field, 8) === sum;
}

/** Opens the context `spec` (a directory or "-"). Throws UsageError for a bad path. */
export async function openContext(spec: string, opts: ContextOptions): Promise<BuildContext> {
  let dir: string;
  let temp: string | undefined;
  let dockerfileText: string | undefined;
  if (spec === "-") {
    if (opts.file === "-") {
      throw new UsageError(
        "invalid argument: can't use stdin for both build context and dockerfile",
      );
    }
    temp = opts.tempDir();
    dir = temp;
    const { first, stream } = await peek(opts.stdin(), 512);
    if (looksLikeArchive(first)) {
      const { extractTar } = await import("../extract.ts");
      try {
        await extractTar(stream, temp);
      } catch (e) {
        Deno.removeSync(temp, { recursive: true });
        throw new TsboxError("read the build context from standard input", {
          cause: e,
          exitCode: 1,
        });
      }
    } else {
      dockerfileText = new TextDecoder().decode(await readAll(stream));
    }
  } else {
    try {
      dir = Deno.realPathSync(spec);
      if (!Deno.statSync(dir).isDirectory) throw new Error("not a directory");
    } catch (e) {
      throw new UsageError(`unable to prepare context: path ${q(spec)} not found`, { cause: e });
    }
  }
  const cleanup = () => {
    if (temp) Deno.removeSync(temp, { recursive: true });
  };
  try {
    let name = "Dockerfile";
    let dockerfilePath: string | undefined;
    if (dockerfileText === undefined) {
      if (opts.file === "-") {
        dockerfileText = new TextDecoder().decode(await readAll(opts.stdin()));
        name = "Dockerfile";
      } else if (opts.file !== undefined) {
        name = opts.file;
        dockerfilePath = temp ? `${dir}/${opts.file.replace(/^\/+/, "")}` : opts.file;
        dockerfileText = readText(dockerfilePath, "open Dockerfile");
      } else {
        dockerfilePath = `${dir}/Dockerfile`;
        try {
          Deno.statSync(dockerfilePath);
        } catch {
          try {
            Deno.statSync(`${dir}/dockerfile`);
            dockerfilePath = `${dir}/dockerfile`;
          } catch { /* reported below with the usual name */ }
        }
        dockerfileText = readText(dockerfilePath, "unable to prepare context: open Dockerfile");
      }
    }
    let ignoreFile: string | undefined;
    let patterns: string[] = [];
    for (
      const candidate of [
        dockerfilePath && `${dockerfilePath}.dockerignore`,
        `${dir}/.dockerignore`,
      ]
    ) {
      if (!candidate) continue;
      try {
        patterns = parseDockerignore(Deno.readTextFileSync(candidate));
        ignoreFile = candidate;
        break;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          throw new TsboxError(`read ${q(candidate)}`, { cause: e, exitCode: 1 });
        }
      }
    }
    let ignore: PatternMatcher;
    try {
      ignore = new PatternMatcher(patterns);
    } catch (e) {
      throw new TsboxError(`${ignoreFile}`, { cause: e, exitCode: 1 });
    }
    const fd = sys("open", [dir, O.PATH | O.DIRECTORY | O.CLOEXEC], q(dir));
    return {
      base: dir,
      fd,
      ...(ignore.empty ? {} : { ignore }),
      keepOwners: false,
      dockerfile: { text: dockerfileText, name },
      ...(ignoreFile ? { ignoreFile } : {}),
      close: () => {
        sys("close", [fd]);
        cleanup();
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}
