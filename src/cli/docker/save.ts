// tsbox save / load: images to and from archives (docker-archive; load also
// reads OCI archives).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";

const SAVE_FLAGS: FlagDef[] = [
  {
    name: "output",
    short: "o",
    type: "string",
    value: "FILE",
    help: "Write to a file, not stdout",
  },
  { name: "help", type: "bool", help: "Print usage" },
];
const LOAD_FLAGS: FlagDef[] = [
  { name: "input", short: "i", type: "string", value: "FILE", help: "Read from a file, not stdin" },
  { name: "quiet", short: "q", type: "bool", help: "Suppress the load output" },
  { name: "help", type: "bool", help: "Print usage" },
];

/** Entry point of `tsbox save`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("save", args, SAVE_FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp(
      "save [OPTIONS] IMAGE [IMAGE...]",
      "Save images to a tar archive (docker-archive, as `docker save` and `podman save`).",
      ["tsbox save -o busybox.tar busybox", "tsbox save debian:12 | gzip > debian.tar.gz"],
      SAVE_FLAGS,
    )),
      0);
  }
  if (!positionals.length) throw new UsageError(`"tsbox save" requires at least 1 argument.`);
  const { findImage, normalizeName } = await import("../../image/store.ts");
  await (await import("../../image/legacy.ts")).prepareStore();
  const { saveImages } = await import("../../image/archive/save.ts");
  const images = positionals.map((ref) => {
    const image = findImage(ref);
    let names: string[] = [];
    try {
      const n = normalizeName(ref);
      names = image.names.includes(n) ? [n] : [];
    } catch { /* an id: no names */ }
    if (!names.length && !/^(sha256:)?[0-9a-f]+$/.test(ref)) names = image.names;
    return { image, names };
  });
  const output = str(flags, "output");
  if (output === undefined && Deno.stdout.isTerminal()) {
    throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  const tmp = output !== undefined ? `${output}.tmp-${Deno.pid}` : undefined;
  const out = tmp !== undefined
    ? Deno.openSync(tmp, { write: true, create: true, truncate: true })
    : Deno.stdout;
  try {
    await saveImages(images, out as Deno.FsFile);
    if (tmp !== undefined) {
      (out as Deno.FsFile).close();
      Deno.renameSync(tmp, output!);
    }
  } catch (e) {
    if (tmp !== undefined) {
      try {
        (out as Deno.FsFile).close();
      } catch { /* closed */ }
      Deno.removeSync(tmp);
    }
    throw e;
  }
  return 0;
}

/** Entry point of `tsbox load`. */
export async function load(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("load", args, LOAD_FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp(
      "load [OPTIONS]",
      "Load images from a tar archive (docker-archive or OCI archive).",
      ["tsbox load -i busybox.tar", "podman save debian | tsbox load"],
      LOAD_FLAGS,
    )),
      0);
  }
  if (positionals.length) throw new UsageError(`"tsbox load" accepts no arguments.`);
  const { loadArchive } = await import("../../image/archive/load.ts");
  const { familiarName } = await import("../../image/store.ts");
  let input = str(flags, "input");
  let tmp: string | undefined;
  if (input === undefined) {
    const { tmpPath } = await import("../../image/blobs.ts");
    tmp = input = tmpPath("stdin.tar");
    const f = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
    await Deno.stdin.readable.pipeTo(f.writable);
  }
  try {
    for (const l of await loadArchive(input)) {
      if (bool(flags, "quiet")) continue;
      if (l.names.length) {
        for (const n of l.names) console.log(`Loaded image: ${familiarName(n)}`);
      } else console.log(`Loaded image ID: sha256:${l.image.id}`);
    }
  } finally {
    if (tmp) Deno.removeSync(tmp);
  }
  return 0;
}
