// tsbox network: create, ls, inspect, rm and prune networks, Docker style.
// Each subcommand has its own flags; the work is in src/net/network.ts.

import { createHash } from "node:crypto";
import { ErrorList, formatError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";
import { table } from "../human.ts";

const help: FlagDef = { name: "help", type: "bool", help: "Print usage" };

interface Sub {
  usage: string;
  description: string;
  examples: string[];
  flags: FlagDef[];
  run: (flags: Record<string, unknown>, args: string[]) => Promise<number>;
}

const net = () => import("../../net/network.ts");

/** The id shown for the pseudo-networks host and none (and bridge before first use). */
function pseudoId(name: string): string {
  return createHash("sha256").update(`tsbox network ${name}`).digest("hex");
}

const SUBS: Record<string, Sub> = {
  create: {
    usage: "network create [OPTIONS] NETWORK",
    description: "Create a bridge network with its own subnet.",
    examples: [
      "tsbox network create backend",
      "tsbox network create --subnet 10.88.0.0/24 --gateway 10.88.0.1 lab",
    ],
    flags: [
      { name: "driver", short: "d", type: "string", value: "DRIVER", help: "Driver (only bridge)" },
      { name: "subnet", type: "string", value: "CIDR", help: "Subnet, e.g. 10.88.0.0/24" },
      { name: "gateway", type: "string", value: "IP", help: "Gateway (default: first address)" },
      help,
    ],
    run: async (f, args) => {
      if (args.length !== 1) {
        throw new UsageError(`"tsbox network create" requires exactly 1 argument.`);
      }
      const driver = f.driver as string | undefined;
      if (driver !== undefined && driver !== "bridge") {
        throw new UsageError(`network driver ${JSON.stringify(driver)} is not supported (bridge)`);
      }
      const n = (await net()).createNetwork({
        name: args[0]!,
        ...(typeof f.subnet === "string" ? { subnet: f.subnet } : {}),
        ...(typeof f.gateway === "string" ? { gateway: f.gateway } : {}),
      });
      console.log(n.id);
      return 0;
    },
  },
  ls: {
    usage: "network ls [OPTIONS]",
    description: "List networks.",
    examples: ["tsbox network ls", "tsbox network ls -q"],
    flags: [
      { name: "quiet", short: "q", type: "bool", help: "Only display network ids" },
      { name: "no-trunc", type: "bool", help: "Do not truncate the output" },
      help,
    ],
    run: async (f) => {
      const { listNetworks, DEFAULT_NETWORK } = await net();
      const { formatSubnet } = await import("../../net/addr.ts");
      const rows = listNetworks().map((n) => [n.id, n.name, n.driver, formatSubnet(n.subnet)]);
      if (!rows.some((r) => r[1] === DEFAULT_NETWORK.name)) {
        rows.unshift([pseudoId("bridge"), "bridge", "bridge", DEFAULT_NETWORK.subnet]);
      }
      rows.push([pseudoId("host"), "host", "host", ""], [pseudoId("none"), "none", "null", ""]);
      const id = (s: string) => (f["no-trunc"] ? s : s.slice(0, 12));
      if (f.quiet) {
        console.log(rows.map((r) => id(r[0]!)).join("\n"));
        return 0;
      }
      console.log(table(
        ["NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET"],
        rows.map((r) => [id(r[0]!), r[1]!, r[2]!, "local", r[3]!]),
      ));
      return 0;
    },
  },
  inspect: {
    usage: "network inspect NETWORK [NETWORK...]",
    description:
      "Show networks as JSON: addresses of their containers and, under Translations, the live\n" +
      "address translations (masquerade and published ports) from the kernel's conntrack table.",
    examples: ["tsbox network inspect bridge"],
    flags: [help],
    run: async (_f, args) => {
      if (!args.length) {
        throw new UsageError(`"tsbox network inspect" requires at least 1 argument.`);
      }
      const { getNetwork } = await net();
      const { inspectNetwork } = await import("../../net/inspect.ts");
      const out: unknown[] = [];
      const errs = new ErrorList();
      for (const ref of args) {
        errs.try(`inspect ${ref}`, () => {
          if (ref === "host" || ref === "none") {
            const driver = ref === "host" ? "host" : "null";
            out.push({
              Name: ref,
              Id: pseudoId(ref),
              Scope: "local",
              Driver: driver,
              Containers: {},
            });
            return;
          }
          const n = getNetwork(ref);
          if (!n) throw new UsageError(`network ${ref} not found`);
          out.push(inspectNetwork(n));
        });
      }
      console.log(JSON.stringify(out, null, 4));
      for (const e of errs.errors) console.error(`tsbox: ${formatError(e)}`);
      return errs.errors.length ? 1 : 0;
    },
  },
  rm: {
    usage: "network rm NETWORK [NETWORK...]",
    description:
      "Remove networks: their bridge and rules. Refused while a container is attached. The default\n" +
      "network bridge may be removed when unused; it is made again on next use. When the last\n" +
      "network is gone, so is tsbox's nftables table.",
    examples: ["tsbox network rm backend"],
    flags: [help],
    run: async (_f, args) => {
      if (!args.length) throw new UsageError(`"tsbox network rm" requires at least 1 argument.`);
      const { removeNetwork } = await net();
      const errs = new ErrorList();
      for (const ref of args) {
        errs.try(`remove network ${ref}`, () => {
          removeNetwork(ref);
          console.log(ref);
        });
      }
      for (const e of errs.errors) console.error(`tsbox: ${formatError(e)}`);
      return errs.errors.length ? 1 : 0;
    },
  },
  prune: {
    usage: "network prune [OPTIONS]",
    description: "Remove every network no container is attached to, the default one included.",
    examples: ["tsbox network prune -f"],
    flags: [{ name: "force", short: "f", type: "bool", help: "Do not prompt (always)" }, help],
    run: async () => {
      const { listNetworks, networkInUse, removeNetwork } = await net();
      const removed: string[] = [];
      for (const n of listNetworks()) {
        if (networkInUse(n.name)) continue;
        removeNetwork(n.name);
        removed.push(n.name);
      }
      if (removed.length) console.log(`Deleted Networks:\n${removed.join("\n")}`);
      return 0;
    },
  },
  diagram: {
    usage: "network diagram [OPTIONS] [NETWORK]",
    description:
      "Draw the network topology read from the kernel now: host interfaces, bridges with their\n" +
      "addresses, veth pairs with the namespace holding each end, containers' eth0, published\n" +
      "ports (nftables) and live NAT translations (conntrack). NETWORK narrows it to one network.",
    examples: [
      "tsbox network diagram",
      "tsbox network diagram --ascii backend",
      "tsbox network diagram --format svg > net.svg",
      "tsbox network diagram --format dot | dot -Tpng > net.png",
    ],
    flags: [
      { name: "ascii", type: "bool", help: "ASCII instead of Unicode box drawing" },
      {
        name: "format",
        type: "string",
        value: "FORMAT",
        help: "text (default), dot, svg or json",
      },
      help,
    ],
    run: async (f, args) => {
      if (args.length > 1) throw new UsageError(`"tsbox network diagram" takes at most 1 network.`);
      const format = typeof f.format === "string" ? f.format : "text";
      if (!["text", "dot", "svg", "json"].includes(format)) {
        throw new UsageError(
          `invalid --format ${JSON.stringify(format)}: use text, dot, svg or json`,
        );
      }
      const name = args[0];
      if (name !== undefined && !(await net()).getNetwork(name)) {
        throw new UsageError(`network ${name} not found`);
      }
      const { readTopology } = await import("../../net/topology.ts");
      const { liveContainers } = await import("../../container/overview.ts");
      const t = readTopology(liveContainers(), name);
      if (format === "json") console.log(JSON.stringify(t, null, 2));
      else if (format === "dot") {
        console.log((await import("../../ui/diagram/dot.ts")).renderDot(t));
      } else if (format === "svg") {
        console.log((await import("../../ui/diagram/svg.ts")).renderSvg(t));
      } else {
        const { renderText } = await import("../../ui/diagram/text.ts");
        console.log(renderText(t, { ascii: f.ascii === true }));
      }
      return 0;
    },
  },
};
SUBS.list = SUBS.ls!;
SUBS.remove = SUBS.rm!;

const HELP = [
  "Usage:  tsbox network COMMAND",
  "",
  "Manage networks.",
  "",
  "Commands:",
  "  create      Create a network",
  "  diagram     Draw the network topology from the kernel's state",
  "  inspect     Display detailed information on one or more networks",
  "  ls          List networks",
  "  prune       Remove all unused networks",
  "  rm          Remove one or more networks",
  "",
  "Run 'tsbox network COMMAND --help' for more information on a command.",
].join("\n");

/** Entry point of `tsbox network`. */
export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(HELP);
    return sub === undefined ? 1 : 0;
  }
  const s = SUBS[sub];
  if (!s) throw new UsageError(`unknown command "${sub}" for "tsbox network"\n\n${HELP}`);
  const { flags, positionals } = parseFlags(`network ${sub}`, rest, s.flags, true);
  if (bool(flags, "help")) {
    console.log(formatHelp(s.usage, s.description, s.examples, s.flags));
    return 0;
  }
  if (!["ls", "inspect"].includes(sub)) {
    // Bridges and rules belong where the state root's supervisor runs its containers.
    (await import("../../supervisor/client.ts")).checkCallerNamespaces();
  }
  return await s.run(flags, positionals);
}
