// tsbox history: the steps that made an image, newest first.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { ago, humanSize, table } from "../human.ts";

const FLAGS: FlagDef[] = [
  { name: "no-trunc", type: "bool", help: "Do not truncate output" },
  { name: "quiet", short: "q", type: "bool", help: "Only show image ids" },
  { name: "help", type: "bool", help: "Print usage" },
];

/** Entry point of `tsbox history`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("history", args, FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp("history [OPTIONS] IMAGE", "Show the history of an image.", [
      "tsbox history debian",
    ], FLAGS)),
      0);
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox history" requires exactly 1 argument.`);
  }
  const { findImage } = await import("../../image/store.ts");
  await (await import("../../image/legacy.ts")).prepareStore();
  const { imageHistory } = await import("../../image/inspect.ts");
  const rows = imageHistory(findImage(positionals[0]!));
  const full = bool(flags, "no-trunc");
  const id = (x: string) => x === "<missing>" || full ? x : x.replace(/^sha256:/, "").slice(0, 12);
  if (bool(flags, "quiet")) {
    console.log(rows.map((r) => id(r.id)).join("\n"));
    return 0;
  }
  const by = (s: string) => full || s.length <= 45 ? s : `${s.slice(0, 44)}…`;
  console.log(table(
    ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
    rows.map((r) => [id(r.id), ago(r.created), by(r.createdBy), humanSize(r.size), r.comment]),
  ));
  return 0;
}
