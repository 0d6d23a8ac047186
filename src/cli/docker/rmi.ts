// tsbox rmi: remove images.

import { ErrorList, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [
  { name: "force", short: "f", type: "bool", help: "Untag images still used by containers" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp("rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images.", [
  "tsbox rmi busybox",
], FLAGS);

/** Entry point of `tsbox rmi`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("rmi", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (!positionals.length) {
    throw new UsageError(`"tsbox rmi" requires at least 1 argument.\nSee 'tsbox rmi --help'.`);
  }
  const { removeImage } = await import("../../image/store.ts");
  await (await import("../../image/legacy.ts")).prepareStore();
  const errs = new ErrorList();
  for (const ref of positionals) {
    errs.try(
      `remove image ${ref}`,
      () => console.log(removeImage(ref, bool(flags, "force")).join("\n")),
    );
  }
  errs.throwIfAny("rmi");
  return 0;
}

const PRUNE_FLAGS: FlagDef[] = [
  {
    name: "all",
    short: "a",
    type: "bool",
    help: "Remove all unused images, not just dangling ones",
  },
  { name: "force", short: "f", type: "bool", help: "Do not prompt for confirmation" },
  { name: "help", type: "bool", help: "Print usage" },
];

/** Entry point of `tsbox image prune`. */
export async function prune(args: string[]): Promise<number> {
  const { flags } = parseFlags("image prune", args, PRUNE_FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp(
      "image prune [OPTIONS]",
      "Remove unused images (nameless ones; every unused one with -a) and the layers only they used.",
      ["tsbox image prune -a -f"],
      PRUNE_FLAGS,
    )),
      0);
  }
  const { pruneImages } = await import("../../image/store.ts");
  const lines = pruneImages(bool(flags, "all"));
  if (lines.length) console.log(`Deleted Images:\n${lines.join("\n")}`);
  return 0;
}
