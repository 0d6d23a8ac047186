// tsbox system df | prune | check | repair.

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
  { name: "volumes", type: "bool", help: "Also remove anonymous volumes no container uses" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "system COMMAND",
  "Manage tsbox.\n\nCommands:\n  df      Show disk usage\n  prune   Remove stopped containers, unused networks and unused images\n  check   Check the state database against the state root's directories\n  repair  Rebuild what the directories hold (a damaged database is set aside, never deleted)",
  ["tsbox system df", "tsbox system prune -f", "tsbox system check", "tsbox system repair"],
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
  if (sub === "check" || sub === "repair") return await checkOrRepair(sub, rest);
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
    const r = await sys.systemPrune(bool(flags, "all"), bool(flags, "volumes"));
    if (r.containers.length) console.log(`Deleted Containers:\n${r.containers.join("\n")}\n`);
    if (r.networks.length) console.log(`Deleted Networks:\n${r.networks.join("\n")}\n`);
    if (r.images.length) console.log(`Deleted Images:\n${r.images.join("\n")}\n`);
    if (r.volumes.length) console.log(`Deleted Volumes:\n${r.volumes.join("\n")}\n`);
    for (const e of r.errors) console.error(`tsbox: ${e}`);
    return r.errors.length ? 1 : 0;
  }
  if (sub === undefined || sub === "--help") {
    console.log(HELP);
    return sub === undefined ? 1 : 0;
  }
  throw new UsageError(`unknown command "system ${sub}"\nSee 'tsbox system --help'.`);
}

const CHECK_FLAGS: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];

/** `system check` (exit 1 when it finds a problem) and `system repair`. */
async function checkOrRepair(sub: "check" | "repair", rest: string[]): Promise<number> {
  const { flags } = parseFlags(`system ${sub}`, rest, CHECK_FLAGS, true);
  if (bool(flags, "help")) {
    console.log(formatHelp(
      `system ${sub}`,
      sub === "check"
        ? "Check the state database against the directories of the state root (changes nothing)."
        : "Rebuild the state from the directories: a damaged, empty or missing database is set aside (never deleted) and containers and images are registered again; rows of removed containers are dropped.",
      [`tsbox system ${sub}`],
      CHECK_FLAGS,
    ));
    return 0;
  }
  const { checkState, repairState } = await import("../../state/check.ts");
  if (sub === "repair") {
    const done = await repairState();
    for (const line of done) console.log(line);
    if (!done.length) console.log("nothing to repair");
    return 0;
  }
  const findings = checkState();
  for (const f of findings) console.log(`${f.level === "ok" ? "ok" : "problem"}: ${f.text}`);
  return findings.some((f) => f.level === "problem") ? 1 : 0;
}
