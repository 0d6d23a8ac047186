// tsbox-runc pause and resume: freeze and thaw every process of a container
// (the freezer cgroup, cgroup.freeze on v2).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { pauseContainer, resumeContainer } from "../../container/oci/ops.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [{ name: "help", short: "h", type: "bool", help: "show help" }];

/** `pause` or `resume`. */
export function verb(name: "pause" | "resume") {
  return {
    async main(g: GlobalOptions, args: string[]): Promise<number> {
      const { flags, positionals } = parseFlags(name, args, FLAGS, true);
      if (bool(flags, "help")) {
        console.log(formatHelp(`runtime ${name} ID`, `${name} a container.`, [], FLAGS));
        return 0;
      }
      if (positionals.length !== 1) throw new UsageError(`"${name}" requires exactly 1 argument`);
      await (name === "pause" ? pauseContainer : resumeContainer)(ociContext(g), positionals[0]!);
      return 0;
    },
  };
}
