// tsbox: a container runtime built from the Linux kernel's own mechanisms.
// This file maps argv to a verb, and errors to exit codes (125 tsbox error,
// 126 cannot execute, 127 not found, else the container's own); it is the
// only place that calls Deno.exit.

import { inBackground, settleBackground, supervisorWanted } from "./src/background.ts";
import { exitCodeOf, formatError } from "./src/errors.ts";

type Verb = { main: (args: string[]) => Promise<number> };

function lifecycleVerb(name: string, summary: string) {
  return {
    summary,
    load: async (): Promise<Verb> => {
      const m = await import("./src/cli/docker/lifecycle.ts");
      return { main: (args: string[]) => m.runVerb(name, args) };
    },
  };
}

/** The verbs, loaded on demand so `run` pays only for what it uses. */
const VERBS: Record<string, { summary: string; load: () => Promise<Verb> }> = {
  run: {
    summary: "Create and run a new container from an image",
    load: () => import("./src/cli/docker/run.ts"),
  },
  create: { summary: "Create a new container", load: () => import("./src/cli/docker/create.ts") },
  attach: {
    summary: "Attach to a running container's output",
    load: () => import("./src/cli/docker/attach.ts"),
  },
  ps: { summary: "List containers", load: () => import("./src/cli/docker/ps.ts") },
  exec: {
    summary: "Run a command in a running container",
    load: () => import("./src/cli/docker/exec.ts"),
  },
  inspect: {
    summary: "Return low-level information on containers or images",
    load: () => import("./src/cli/docker/inspect.ts"),
  },
  explain: {
    summary: "Explain how a container is isolated, from the kernel's own view",
    load: () => import("./src/cli/docker/explain.ts"),
  },
  top: {
    summary: "Display the running processes of a container",
    load: () => import("./src/cli/docker/top.ts"),
  },
  events: { summary: "Get real time events", load: () => import("./src/cli/docker/events.ts") },
  cp: {
    summary: "Copy files between a container and the host",
    load: () => import("./src/cli/docker/cp.ts"),
  },
  logs: {
    summary: "Fetch the logs of a container",
    load: () => import("./src/cli/docker/logs.ts"),
  },
  rm: { summary: "Remove one or more containers", load: () => import("./src/cli/docker/rm.ts") },
  stats: {
    summary: "Display a live stream of container(s) resource usage statistics",
    load: () => import("./src/cli/docker/stats.ts"),
  },
  group: {
    summary: "Manage groups (cgroup parents with limits)",
    load: () => import("./src/cli/docker/group.ts"),
  },
  import: {
    summary: "Import a root filesystem tarball as an image",
    load: () => import("./src/cli/docker/import.ts"),
  },
  images: { summary: "List images", load: () => import("./src/cli/docker/images.ts") },
  pull: {
    summary: "Download an image from a registry",
    load: () => import("./src/cli/docker/pull.ts"),
  },
  push: {
    summary: "Upload an image to a registry",
    load: () => import("./src/cli/docker/push.ts"),
  },
  tag: {
    summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    load: () => import("./src/cli/docker/tag.ts"),
  },
  image: { summary: "Manage images", load: () => import("./src/cli/docker/image.ts") },
  history: {
    summary: "Show the history of an image",
    load: () => import("./src/cli/docker/history.ts"),
  },
  login: { summary: "Log in to a registry", load: () => import("./src/cli/docker/login.ts") },
  logout: {
    summary: "Log out from a registry",
    load: async () => ({ main: (await import("./src/cli/docker/login.ts")).logout }),
  },
  save: {
    summary: "Save one or more images to a tar archive",
    load: () => import("./src/cli/docker/save.ts"),
  },
  load: {
    summary: "Load images from a tar archive",
    load: async () => ({ main: (await import("./src/cli/docker/save.ts")).load }),
  },
  commit: {
    summary: "Create a new image from a container's changes",
    load: () => import("./src/cli/docker/commit.ts"),
  },
  diff: {
    summary: "Inspect changes to files on a container's filesystem",
    load: async () => ({ main: (await import("./src/cli/docker/commit.ts")).diff }),
  },
  export: {
    summary: "Export a container's filesystem as a tar archive",
    load: async () => ({ main: (await import("./src/cli/docker/commit.ts")).exportVerb }),
  },
  build: {
    summary: "Build an image from a Dockerfile",
    load: () => import("./src/cli/docker/build.ts"),
  },
  builder: {
    summary: "Manage builds (prune the build cache)",
    load: () => import("./src/cli/docker/builder.ts"),
  },
  network: { summary: "Manage networks", load: () => import("./src/cli/docker/network.ts") },
  port: {
    summary: "List port mappings or a specific mapping for the container",
    load: () => import("./src/cli/docker/port.ts"),
  },
  rmi: { summary: "Remove one or more images", load: () => import("./src/cli/docker/rmi.ts") },
  start: lifecycleVerb("start", "Start one or more stopped containers"),
  stop: lifecycleVerb("stop", "Stop one or more running containers"),
  restart: lifecycleVerb("restart", "Restart one or more containers"),
  kill: lifecycleVerb("kill", "Send a signal to one or more running containers"),
  wait: lifecycleVerb("wait", "Block until containers stop, then print their exit codes"),
  pause: lifecycleVerb("pause", "Pause all processes within one or more containers"),
  unpause: lifecycleVerb("unpause", "Unpause all processes within one or more containers"),
  rename: lifecycleVerb("rename", "Rename a container"),
  system: {
    summary: "Manage tsbox (df, prune, check, repair)",
    load: () => import("./src/cli/docker/system.ts"),
  },
  ui: {
    summary: "Serve a local web dashboard (containers, network, cgroups)",
    load: () => import("./src/cli/docker/ui.ts"),
  },
  supervise: { summary: "", load: () => import("./src/cli/docker/supervise.ts") },
  runtime: {
    summary: "tsbox as an OCI runtime, with runc's command line (scripts/tsbox-runc)",
    load: async () => {
      const m = await import("./src/cli/oci/main.ts");
      return { main: m.ociMain };
    },
  },
};

function usage(): string {
  const w = Math.max(...Object.keys(VERBS).map((k) => k.length)) + 3;
  return [
    "Usage:  tsbox COMMAND [OPTIONS]",
    "",
    "A container runtime made of namespaces, cgroups, overlayfs and netlink, in one Deno program.",
    "",
    "Commands:",
    ...Object.entries(VERBS).filter(([, v]) => v.summary).map(([k, v]) =>
      `  ${k.padEnd(w)}${v.summary}`
    ),
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
  try {
    return await (await entry.load()).main(rest);
  } finally {
    // Restarts are due (after a reboot, or a supervisor's death): the supervisor does them.
    if (verb !== "supervise" && supervisorWanted()) {
      inBackground(import("./src/supervisor/client.ts").then((m) => m.ensureSupervisor()));
    }
  }
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
  await settleBackground();
  Deno.exit(code);
}
