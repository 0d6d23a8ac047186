// tsbox-runc delete: remove a stopped (or, with --force, any) container.

import { NotFoundError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { deleteContainer, load } from "./engine.ts";
import type { GlobalOptions } from "./log.ts";
import { checkId, removeContainerDir, withLock } from "./store.ts";

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
  const id = checkId(positionals[0]);
  const force = bool(flags, "force");
  try {
    await withLock(g.root, id, () => deleteContainer(g, load(g, id), force));
  } catch (e) {
    // As runc: --force deletes what is left of a container whose state is gone.
    if (!(e instanceof NotFoundError) || !force) throw e;
    removeContainerDir(g.root, id);
  }
  return 0;
}
