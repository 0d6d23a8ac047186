// tsbox commit / diff / export: a container's filesystem as an image, a
// list of changes, or a tarball.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, list, parseFlags, str } from "../flags.ts";

const COMMIT_FLAGS: FlagDef[] = [
  { name: "author", short: "a", type: "string", value: "NAME", help: "Author" },
  { name: "message", short: "m", type: "string", value: "TEXT", help: "Commit message" },
  {
    name: "change",
    short: "c",
    type: "list",
    value: "INSTR",
    help: "Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL",
  },
  { name: "pause", short: "p", type: "bool", help: "Accepted for Docker compatibility" },
  { name: "help", type: "bool", help: "Print usage" },
];
const PLAIN: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];
const EXPORT_FLAGS: FlagDef[] = [
  { name: "output", short: "o", type: "string", value: "FILE", help: "Write to a file" },
  { name: "help", type: "bool", help: "Print usage" },
];

/** Entry point of `tsbox commit`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("commit", args, COMMIT_FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp(
      "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
      "Create a new image from a container's changes (its overlay upper dir becomes a layer).",
      ["tsbox commit web web:snapshot", `tsbox commit -c 'CMD ["sh"]' -m fixed box box:2`],
      COMMIT_FLAGS,
    )),
      0);
  }
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(`"tsbox commit" requires at least 1 and at most 2 arguments.`);
  }
  const { findContainer } = await import("../../state/containers.ts");
  const { commitContainer } = await import("../../image/commit.ts");
  await (await import("../../image/legacy.ts")).prepareStore();
  const { normalizeName, tagImage } = await import("../../image/store.ts");
  const { applyChanges } = await import("./import.ts");
  const name = positionals[1] !== undefined ? normalizeName(positionals[1]) : undefined;
  const changes = applyChanges(list(flags, "change"));
  const author = str(flags, "author"), message = str(flags, "message");
  const img = await commitContainer(findContainer(positionals[0]!), {
    ...(author !== undefined ? { author } : {}),
    ...(message !== undefined ? { message } : {}),
    changes: changes as Record<string, unknown>,
  });
  if (name) tagImage(img.id, name);
  console.log(`sha256:${img.id}`);
  return 0;
}

/** Entry point of `tsbox diff`. */
export async function diff(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("diff", args, PLAIN, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp(
      "diff CONTAINER",
      "Inspect changes to files or directories on a container's filesystem (A added, C changed, D deleted).",
      ["tsbox diff web"],
      PLAIN,
    )),
      0);
  }
  if (positionals.length !== 1) throw new UsageError(`"tsbox diff" requires exactly 1 argument.`);
  const { findContainer } = await import("../../state/containers.ts");
  const { containerChanges } = await import("../../image/commit.ts");
  for (const c of containerChanges(findContainer(positionals[0]!))) {
    console.log(`${c.kind} ${c.path}`);
  }
  return 0;
}

/** Entry point of `tsbox export`. */
export async function exportVerb(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("export", args, EXPORT_FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp(
      "export [OPTIONS] CONTAINER",
      "Export a container's filesystem as a tar archive.",
      ["tsbox export -o web.tar web", "tsbox export web | tar -t"],
      EXPORT_FLAGS,
    )),
      0);
  }
  if (positionals.length !== 1) throw new UsageError(`"tsbox export" requires exactly 1 argument.`);
  const { findContainer } = await import("../../state/containers.ts");
  const { exportContainer } = await import("../../image/commit.ts");
  const output = str(flags, "output");
  if (output === undefined && Deno.stdout.isTerminal()) {
    throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  const rec = findContainer(positionals[0]!);
  const out = output !== undefined
    ? Deno.openSync(output, { write: true, create: true, truncate: true })
    : Deno.stdout;
  try {
    exportContainer(rec, out as Deno.FsFile);
  } finally {
    if (output !== undefined) (out as Deno.FsFile).close();
  }
  return 0;
}
