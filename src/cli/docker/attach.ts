// tsbox attach: follow a detached container's output until it stops.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [
  {
    name: "sig-proxy",
    type: "bool",
    help: "Proxy received signals to the container (default true)",
  },
  { name: "no-stdin", type: "bool", help: "Do not attach STDIN" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "attach [OPTIONS] CONTAINER",
  "Attach local standard input, output, and error streams to a running container: its new\noutput streams here, our input goes to its terminal (-t) or stdin (-i), our signals go to it,\nand tsbox exits with its exit code when it stops. Ctrl-P Ctrl-Q detaches.",
  ["tsbox run -dit --name box busybox sh && tsbox attach box", "tsbox attach --no-stdin web"],
  FLAGS,
);

/** Entry point of `tsbox attach`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("attach", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox attach" requires exactly 1 argument.\nSee 'tsbox attach --help'.`);
  }
  const { attachContainer } = await import("../../container/attach.ts");
  return await attachContainer(positionals[0]!, {
    sigProxy: flags["sig-proxy"] !== false,
    noStdin: bool(flags, "no-stdin"),
  });
}
