// tsbox images: list the images in the store.

import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { ago, humanSize, table } from "../human.ts";

const FLAGS: FlagDef[] = [
  { name: "all", short: "a", type: "bool", help: "Show all images (also the build cache's)" },
  { name: "quiet", short: "q", type: "bool", help: "Only show image ids" },
  { name: "no-trunc", type: "bool", help: "Do not truncate ids" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "images [OPTIONS] [REPOSITORY[:TAG]]",
  "List images.",
  ["tsbox images", "tsbox images -q busybox"],
  FLAGS,
);

/** Entry point of `tsbox images`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("images", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const { familiarName, listImages } = await import("../../image/store.ts");
  await (await import("../../image/legacy.ts")).prepareStore();
  const { parseReference, repository } = await import("../../image/registry/reference.ts");
  const want = positionals[0];
  let match = (_: string) => true;
  if (want !== undefined) {
    const r = parseReference(want);
    match = (n: string) =>
      r.tag === undefined ? n.startsWith(`${repository(r)}:`) : n === `${repository(r)}:${r.tag}`;
  }
  // Nameless images that only the build cache holds are intermediate (`images -a` shows them).
  const hidden = bool(flags, "all")
    ? new Set<string>()
    : (await import("../../state/build_cache.ts")).intermediateImages();
  const images = listImages().filter((i) =>
    (want === undefined || i.names.some(match)) && (i.names.length > 0 || !hidden.has(i.id))
  );
  const id = (x: string) => (bool(flags, "no-trunc") ? `sha256:${x}` : x.slice(0, 12));
  if (bool(flags, "quiet")) {
    if (images.length) console.log([...new Set(images.map((i) => id(i.id)))].join("\n"));
    return 0;
  }
  const rows = images.flatMap((img) => {
    const names = img.names.length ? img.names.filter(match).map(familiarName) : ["<none>:<none>"];
    return names.map((n) => {
      const c = n.lastIndexOf(":");
      return [n.slice(0, c), n.slice(c + 1), id(img.id), ago(img.created), humanSize(img.size)];
    });
  });
  console.log(table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows));
  return 0;
}
