// tsbox: a container runtime built from the Linux kernel's own mechanisms.
// This file maps argv to a verb, and errors to exit codes (125 tsbox error,
// 126 cannot execute, 127 not found, else the container's own); it is the
// only place that calls Deno.exit.

import { exitCodeOf, formatError } from "./src/errors.ts";

type Verb = { main: (args: string[]) => Promise<number> };

/** The verbs, loaded on demand so `run` pays only for what it uses. */
const VERBS: Record<string, { summary: string; load: () => Promise<Verb> }> = {
  run: {
    summary: "Create and run a new container from an image",
    load: () => import("./src/cli/docker/run.ts"),
  },
  ps: { summary: "List containers", load: () => import("./src/cli/docker/ps.ts") },
  rm: { summary: "Remove one or more containers", load: () => import("./src/cli/docker/rm.ts") },
  import: {
    summary: "Import a root filesystem tarball as an image",
    load: () => import("./src/cli/docker/import.ts"),
  },
  images: { summary: "List images", load: () => import("./src/cli/docker/images.ts") },
  rmi: { summary: "Remove one or more images", load: () => import("./src/cli/docker/rmi.ts") },
};

function usage(): string {
  const w = Math.max(...Object.keys(VERBS).map((k) => k.length)) + 3;
  return [
    "Usage:  tsbox COMMAND [OPTIONS]",
    "",
    "A container runtime made of namespaces, cgroups, overlayfs and netlink, in one Deno program.",
    "",
    "Commands:",
    ...Object.entries(VERBS).map(([k, v]) => `  ${k.padEnd(w)}${v.summary}`),
    "",
    "Run 'tsbox COMMAND --help' for more information on a command.",
    "State lives in $TSBOX_ROOT (default /var/lib/tsbox).",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    console.log(usage());
    return verb === undefined ? 1 : 0;
  }
  if (verb === "--version" || verb === "version") {
    console.log(`tsbox version 0.1.0 (deno ${Deno.version.deno}, ${Deno.build.arch})`);
    return 0;
  }
  const entry = VERBS[verb];
  if (!entry) {
    console.error(`tsbox: '${verb}' is not a tsbox command.\nSee 'tsbox --help'`);
    return 125;
  }
  return await (await entry.load()).main(rest);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    console.error(`tsbox: ${formatError(e)}`);
    code = exitCodeOf(e);
    if (Deno.env.get("TSBOX_DEBUG") && e instanceof Error) console.error(e.stack);
  }
  Deno.exit(code);
}
