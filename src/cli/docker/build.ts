// tsbox build: an image from a Dockerfile (src/image/build/).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, list, parseFlags, str } from "../flags.ts";

const FLAGS: FlagDef[] = [
  {
    name: "tag",
    short: "t",
    type: "list",
    value: "NAME[:TAG]",
    help: "Name the image (repeatable)",
  },
  {
    name: "file",
    short: "f",
    type: "string",
    value: "PATH",
    help: "The Dockerfile (default: CONTEXT/Dockerfile; - reads standard input)",
  },
  { name: "build-arg", type: "list", value: "KEY[=VALUE]", help: "Set a build argument (ARG)" },
  { name: "target", type: "string", value: "STAGE", help: "Build this stage and what it needs" },
  { name: "no-cache", type: "bool", help: "Do not reuse cached steps" },
  { name: "pull", type: "bool", help: "Always pull the base images" },
  {
    name: "network",
    type: "string",
    value: "MODE",
    help: "Network of RUN steps: bridge (default), none, host, or a network's name",
  },
  { name: "label", type: "list", value: "KEY=VALUE", help: "Add a label to the image" },
  { name: "quiet", short: "q", type: "bool", help: "Print only the image id" },
  {
    name: "platform",
    type: "string",
    value: "OS/ARCH",
    help: "Target platform (linux/amd64 only)",
  },
  { name: "rm", type: "bool", help: "Remove intermediate containers (always done)", hidden: true },
  {
    name: "force-rm",
    type: "bool",
    help: "Remove intermediate containers (always done)",
    hidden: true,
  },
  { name: "help", type: "bool", help: "Print usage" },
];

const HELP = formatHelp(
  "build [OPTIONS] CONTEXT",
  "Build an image from a Dockerfile. CONTEXT is a directory, or - for a tar archive (or a lone\nDockerfile) on standard input. Each instruction is a step: RUN runs in a container of the\nimage so far, COPY and ADD write a new layer, the others change the image's configuration.\nSteps are cached (tsbox builder prune clears the cache).",
  [
    "tsbox build -t app:1.0 .",
    "tsbox build -f docker/Dockerfile.prod --build-arg VERSION=2 -t app .",
    "tsbox build --target build --network none -q .",
    "tar -cz . | tsbox build -t app -",
  ],
  FLAGS,
);

/** `--build-arg K=V` (or K, whose value comes from the environment, as Docker does). */
export function parseBuildArgs(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf("=");
    const key = i < 0 ? v : v.slice(0, i);
    if (!key) throw new UsageError(`invalid build argument ${JSON.stringify(v)}: empty name`);
    if (i >= 0) out[key] = v.slice(i + 1);
    else {
      const env = Deno.env.get(key);
      if (env !== undefined) out[key] = env;
    }
  }
  return out;
}

/** Entry point of `tsbox build`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("build", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox build" requires exactly 1 argument.\nSee 'tsbox build --help'.`);
  }
  const platform = str(flags, "platform");
  if (platform !== undefined && !["linux/amd64", "linux/x86_64", "amd64"].includes(platform)) {
    throw new UsageError(
      `platform ${JSON.stringify(platform)} is not supported: tsbox builds linux/amd64 images`,
    );
  }
  const network = str(flags, "network") ?? "default";
  const { parseLabels } = await import("../../spec/run_config.ts");
  const opts = {
    context: positionals[0]!,
    ...(str(flags, "file") !== undefined ? { file: str(flags, "file")! } : {}),
    tags: list(flags, "tag"),
    buildArgs: parseBuildArgs(list(flags, "build-arg")),
    ...(str(flags, "target") !== undefined ? { target: str(flags, "target")! } : {}),
    noCache: bool(flags, "no-cache"),
    pull: bool(flags, "pull"),
    network: network === "default" ? "bridge" : network,
    labels: parseLabels(list(flags, "label")),
    quiet: bool(flags, "quiet"),
  };
  const { build } = await import("../../image/build/builder.ts");
  const { layeredStore } = await import("../../image/build/store.ts");
  const { familiarName } = await import("../../image/store.ts");
  const r = await build(opts, layeredStore(), () => Deno.stdin.readable);
  if (opts.quiet) {
    console.log(`sha256:${r.id}`);
    return 0;
  }
  console.log(`Successfully built ${r.id.slice(0, 12)}`);
  for (const t of r.tags) console.log(`Successfully tagged ${familiarName(t)}`);
  return 0;
}
