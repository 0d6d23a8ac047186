// tsbox logs: print a container's output (json-file log).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";

const FLAGS: FlagDef[] = [
  { name: "follow", short: "f", type: "bool", help: "Follow log output" },
  {
    name: "tail",
    short: "n",
    type: "string",
    value: "N",
    help: "Number of lines to show from the end (default all)",
  },
  { name: "timestamps", short: "t", type: "bool", help: "Show timestamps" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "logs [OPTIONS] CONTAINER",
  "Fetch the logs of a container (detached containers; foreground ones print to your terminal).",
  ["tsbox logs web", "tsbox logs -f --tail 10 -t web"],
  FLAGS,
);

/** Entry point of `tsbox logs`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("logs", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox logs" requires exactly 1 argument.\nSee 'tsbox logs --help'.`);
  }
  const tail = str(flags, "tail");
  if (tail !== undefined && tail !== "all" && !/^\d+$/.test(tail)) {
    throw new UsageError(`invalid --tail ${JSON.stringify(tail)}`);
  }
  const { printLogs } = await import("../../container/logs.ts");
  await printLogs(positionals[0]!, {
    follow: bool(flags, "follow"),
    tail: tail === undefined || tail === "all" ? undefined : Number(tail),
    timestamps: bool(flags, "timestamps"),
  });
  return 0;
}
