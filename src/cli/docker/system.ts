// tsbox system df | prune.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { humanSize, table } from "../human.ts";

const DF_FLAGS: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];
const PRUNE_FLAGS: FlagDef[] = [
  {
    name: "all",
    short: "a",
    type: "bool",
    help: "Remove all unused images, not just nameless ones",
  },
  { name: "force", short: "f", type: "bool", help: "Do not prompt for confirmation" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "system COMMAND",
  "Manage tsbox.\n\nCommands:\n  df      Show disk usage\n  prune   Remove stopped containers, unused networks and unused images",
  ["tsbox system df", "tsbox system prune -f"],
  [],
);

async function confirm(): Promise<boolean> {
  console.log(
    "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n\nAre you sure you want to continue? [y/N] ",
  );
  const buf = new Uint8Array(16);
  const n = await Deno.stdin.read(buf);
  return n !== null && /^y/i.test(new TextDecoder().decode(buf.subarray(0, n)));
}

/** Entry point of `tsbox system`. */
export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const sys = await import("../../container/system.ts");
  if (sub === "df") {
    const { flags } = parseFlags("system df", rest, DF_FLAGS, true);
    if (bool(flags, "help")) {
      return (console.log(formatHelp("system df", "Show tsbox disk usage.", [], DF_FLAGS)), 0);
    }
    const rows = sys.systemDf();
    console.log(table(
      ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
      rows.map((
        r,
      ) => [
        r.type,
        String(r.total),
        String(r.active),
        humanSize(r.size),
        `${humanSize(r.reclaimable)}${
          r.size ? ` (${Math.round((r.reclaimable / r.size) * 100)}%)` : ""
        }`,
      ]),
    ));
    return 0;
  }
  if (sub === "prune") {
    const { flags } = parseFlags("system prune", rest, PRUNE_FLAGS, true);
    if (bool(flags, "help")) {
      return (console.log(
        formatHelp("system prune [OPTIONS]", "Remove unused data.", [], PRUNE_FLAGS),
      ),
        0);
    }
    if (!bool(flags, "force") && !(await confirm())) return 1;
    const r = await sys.systemPrune(bool(flags, "all"));
    if (r.containers.length) console.log(`Deleted Containers:\n${r.containers.join("\n")}\n`);
    if (r.networks.length) console.log(`Deleted Networks:\n${r.networks.join("\n")}\n`);
    if (r.images.length) console.log(`Deleted Images:\n${r.images.join("\n")}\n`);
    for (const e of r.errors) console.error(`tsbox: ${e}`);
    return r.errors.length ? 1 : 0;
  }
  if (sub === undefined || sub === "--help") {
    console.log(HELP);
    return sub === undefined ? 1 : 0;
  }
  throw new UsageError(`unknown command "system ${sub}"\nSee 'tsbox system --help'.`);
}
