// tsbox exec: run a command in a running container.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, list, parseFlags, str } from "../flags.ts";

const FLAGS: FlagDef[] = [
  { name: "interactive", short: "i", type: "bool", help: "Keep STDIN open" },
  { name: "tty", short: "t", type: "bool", help: "Allocate a pseudo-TTY" },
  { name: "detach", short: "d", type: "bool", help: "Run the command in the background" },
  {
    name: "env",
    short: "e",
    type: "list",
    value: "KEY=VALUE",
    help: "Set an environment variable",
  },
  { name: "user", short: "u", type: "string", value: "USER[:GROUP]", help: "Username or uid" },
  {
    name: "workdir",
    short: "w",
    type: "string",
    value: "DIR",
    help: "Working directory inside the container",
  },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
  "Run a command in a running container: same namespaces, cgroup, capabilities and root filesystem.",
  ["tsbox exec web ps", "tsbox exec -it web sh", "tsbox exec -u nobody -w /tmp web id"],
  FLAGS,
);

/** Entry point of `tsbox exec`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("exec", args, FLAGS);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length < 2) {
    throw new UsageError(`"tsbox exec" requires at least 2 arguments.\nSee 'tsbox exec --help'.`);
  }
  const { execInContainer } = await import("../../container/exec.ts");
  return await execInContainer(positionals[0]!, {
    command: positionals.slice(1),
    interactive: bool(flags, "interactive"),
    tty: bool(flags, "tty"),
    detach: bool(flags, "detach"),
    env: list(flags, "env"),
    user: str(flags, "user"),
    workdir: str(flags, "workdir"),
  });
}
