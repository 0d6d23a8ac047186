// tsbox tag: give an image another name.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];
const HELP = formatHelp(
  "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.",
  ["tsbox tag busybox localhost:5000/tools/busybox:1.36"],
  FLAGS,
);

/** Entry point of `tsbox tag`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("tag", args, FLAGS, true);
  if (bool(flags, "help")) return (console.log(HELP), 0);
  if (positionals.length !== 2) {
    throw new UsageError(`"tsbox tag" requires exactly 2 arguments.\nSee 'tsbox tag --help'.`);
  }
  const { findImage, normalizeName, tagImage } = await import("../../image/store.ts");
  const target = normalizeName(positionals[1]!);
  tagImage(findImage(positionals[0]!).id, target);
  return 0;
}
