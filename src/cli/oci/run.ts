// tsbox-runc run: create and start a container; without --detach, wait for
// its init (a child of this process), relay its terminal when it has one and
// no console socket was given, then delete it and exit with its status.

import { runContainer } from "../../container/oci/create.ts";
import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp } from "../flags.ts";
import { CREATE_FLAGS, createOptions } from "./create.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "detach", short: "d", type: "bool", help: "do not wait for the container's process" },
  { name: "keep", type: "bool", help: "do not delete the container after it exits" },
  ...CREATE_FLAGS,
];
const HELP = formatHelp(
  "runtime run [OPTIONS] ID",
  "Create and start a container; wait for it unless --detach.",
  ["tsbox-runc run --bundle /b box", "tsbox-runc run -d --bundle /b --pid-file /b/pid box"],
  FLAGS,
);

/** Entry point of `tsbox-runc run`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const o = createOptions(g, "run", args, FLAGS);
  if (o.help) {
    console.log(HELP);
    return 0;
  }
  const detach = bool(o.flags, "detach");
  if (o.req.consoleSocket && !detach) {
    throw new UsageError("cannot use console socket if runtime will not detach");
  }
  return await runContainer(ociContext(g), o.req, { detach, keep: bool(o.flags, "keep") });
}
