// tsbox-runc delete: remove a stopped (or, with --force, any) container.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { deleteContainer } from "../../container/oci/lifecycle.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "force", short: "f", type: "bool", help: "kill a running container first (SIGKILL)" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp("runtime delete [--force] ID", "Delete a container.", [
  "tsbox-runc delete box",
  "tsbox-runc delete --force box",
], FLAGS);

/** Entry point of `tsbox-runc delete`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("delete", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`"delete" requires exactly 1 argument`);
  await deleteContainer(ociContext(g), positionals[0]!, bool(flags, "force"));
  return 0;
}
