// tsbox builder prune: empty the build cache of `tsbox build`.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { humanSize } from "../human.ts";

const PRUNE_FLAGS: FlagDef[] = [
  { name: "all", short: "a", type: "bool", help: "Remove all build cache (the only kind here)" },
  { name: "force", short: "f", type: "bool", help: "Do not prompt for confirmation" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "builder COMMAND",
  "Manage builds.\n\nCommands:\n  prune   Remove the build cache (cached steps and the intermediate images only it holds)",
  ["tsbox builder prune -f"],
  [],
);

async function confirm(): Promise<boolean> {
  console.log(
    "WARNING! This will remove all build cache.\nAre you sure you want to continue? [y/N] ",
  );
  const buf = new Uint8Array(16);
  const n = await Deno.stdin.read(buf);
  return n !== null && /^y/i.test(new TextDecoder().decode(buf.subarray(0, n)));
}

/** Entry point of `tsbox builder`. */
export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "prune") {
    const { flags } = parseFlags("builder prune", rest, PRUNE_FLAGS, true);
    if (bool(flags, "help")) {
      console.log(
        formatHelp("builder prune [OPTIONS]", "Remove the build cache.", [], PRUNE_FLAGS),
      );
      return 0;
    }
    if (!bool(flags, "force") && !(await confirm())) return 1;
    const { pruneBuildCache } = await import("../../image/build/store.ts");
    const r = pruneBuildCache();
    if (r.removed.length) {
      console.log(`Deleted build cache objects:\n${r.removed.join("\n")}\n`);
    }
    console.log(`Total reclaimed space: ${humanSize(r.reclaimed)}`);
    return 0;
  }
  if (sub === undefined || sub === "--help") {
    console.log(HELP);
    return sub === undefined ? 1 : 0;
  }
  throw new UsageError(`unknown command "builder ${sub}"\nSee 'tsbox builder --help'.`);
}
