// tsbox explain: a short, plain-language account of how a container is
// isolated, each line with the kernel file or netlink object it came from.
// The facts are gathered by src/container/explain.ts; this file prints them.

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";

const FLAGS: FlagDef[] = [
  { name: "format", short: "f", type: "string", value: "FORMAT", help: "text (default) or json" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "explain [OPTIONS] CONTAINER",
  "Explain how a container is isolated: namespaces, user ids, capabilities, seccomp, cgroup\n" +
    "limits in effect, mounts and its network path with the NAT rules, read from the kernel now.",
  ["tsbox explain web", "tsbox explain --format json web"],
  FLAGS,
);

const TOPICS: Record<string, string> = {
  state: "State",
  namespaces: "Namespaces",
  users: "User ids",
  capabilities: "Capabilities",
  seccomp: "System calls",
  cgroup: "Resources (cgroup)",
  mounts: "Filesystem",
  network: "Network",
};

/** Entry point of `tsbox explain`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("explain", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `"tsbox explain" requires exactly 1 argument.\nSee 'tsbox explain --help'.`,
    );
  }
  const format = str(flags, "format") ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`invalid --format ${JSON.stringify(format)}: use text or json`);
  }
  const { findContainer } = await import("../../state/containers.ts");
  const { reconcile } = await import("../../container/status.ts");
  const { liveContainers } = await import("../../container/overview.ts");
  const { explainContainer } = await import("../../container/explain.ts");
  const rec = reconcile(findContainer(positionals[0]!));
  const ex = explainContainer(rec, liveContainers().filter((c) => c.id !== rec.id));
  if (format === "json") {
    console.log(JSON.stringify(ex, (_k, v) => (typeof v === "bigint" ? String(v) : v), 2));
    return 0;
  }
  const out = [
    `${ex.name} (${ex.id.slice(0, 12)}), ${ex.status}${ex.pid ? `, pid ${ex.pid}` : ""}`,
  ];
  let topic = "";
  for (const f of ex.facts) {
    if (f.topic !== topic) {
      topic = f.topic;
      out.push("", `${TOPICS[topic] ?? topic}:`);
    }
    out.push(`  ${f.text}`, `      <- ${f.source}`);
  }
  console.log(out.join("\n"));
  return 0;
}
