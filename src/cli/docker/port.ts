// tsbox port: list a container's published ports, Docker style
// ("80/tcp -> 0.0.0.0:8080"), or the host side of one of them.

import { NotFoundError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];
const HELP = formatHelp(
  "port CONTAINER [PRIVATE_PORT[/PROTO]]",
  "List port mappings or a specific mapping for the container.",
  ["tsbox port web", "tsbox port web 80/tcp"],
  FLAGS,
);

/** Entry point of `tsbox port`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("port", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(`"tsbox port" requires 1 or 2 arguments.\nSee 'tsbox port --help'.`);
  }
  const { findContainer } = await import("../../state/containers.ts");
  const { bindingsOf } = await import("../../net/reservations.ts");
  const { formatPortLines } = await import("../../net/ports.ts");
  const rec = findContainer(positionals[0]!);
  let bindings = bindingsOf(rec.id);
  const filter = positionals[1];
  if (filter === undefined) {
    const lines = formatPortLines(bindings);
    if (lines.length) console.log(lines.join("\n"));
    return 0;
  }
  const m = filter.match(/^(\d{1,5})(?:\/(tcp|udp))?$/);
  if (!m) throw new UsageError(`invalid port ${JSON.stringify(filter)}: expected PORT[/tcp|udp]`);
  bindings = bindings.filter((b) =>
    b.containerPort === Number(m[1]) && b.proto === (m[2] ?? "tcp")
  );
  if (!bindings.length) {
    throw new NotFoundError(`no public port '${filter}' published for ${rec.name}`, {
      exitCode: 1,
    });
  }
  console.log(bindings.map((b) => `${b.hostIp}:${b.hostPort}`).join("\n"));
  return 0;
}
