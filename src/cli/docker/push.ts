// tsbox push: upload an image to a registry.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [
  { name: "quiet", short: "q", type: "bool", help: "Suppress verbose output" },
  { name: "tls-verify", type: "bool", help: "Require HTTPS with a verified certificate" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "push [OPTIONS] NAME[:TAG]",
  "Upload an image to a registry (layers it already has are skipped).",
  ["tsbox tag busybox localhost:5000/busybox:1", "tsbox push localhost:5000/busybox:1"],
  FLAGS,
);

/** Entry point of `tsbox push`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("push", args, FLAGS, true);
  if (bool(flags, "help")) return (console.log(HELP), 0);
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox push" requires exactly 1 argument.\nSee 'tsbox push --help'.`);
  }
  const { pushImage } = await import("../../image/push.ts");
  await (await import("../../image/legacy.ts")).prepareStore();
  const quiet = bool(flags, "quiet");
  await pushImage(positionals[0]!, {
    ...(flags["tls-verify"] !== undefined ? { tlsVerify: bool(flags, "tls-verify") } : {}),
    onLine: (l) => quiet || console.log(l),
  });
  return 0;
}
