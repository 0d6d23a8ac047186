// tsbox create: create a container without starting it (`tsbox start` runs it).

import { exitCodeOf, runExitCode, TsboxError } from "../../errors.ts";
import { bool, formatHelp, parseFlags } from "../flags.ts";
import { checkRunOptions } from "../../spec/run_config.ts";
import { pullForRun, RUN_FLAGS, runOptions } from "./run.ts";

const FLAGS = RUN_FLAGS.filter((f) => !["detach", "rm", "trace"].includes(f.name));
const HELP = formatHelp(
  "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
  "Create a new container (validated, recorded, its files made), without starting it.",
  ["tsbox create --name web busybox httpd -f", "tsbox start web"],
  FLAGS,
);

/** Entry point of `tsbox create`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("create", args, FLAGS);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const opts = runOptions(flags, positionals);
  for (const w of checkRunOptions(opts)) console.error(w);
  await pullForRun(flags, opts);
  const { createContainer } = await import("../../container/create.ts");
  try {
    console.log((await createContainer(opts)).record.id);
  } catch (e) {
    throw new TsboxError("", { cause: e, exitCode: runExitCode(exitCodeOf(e)) });
  }
  return 0;
}
