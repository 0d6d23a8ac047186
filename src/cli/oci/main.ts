// tsbox-runc: runc's command line (the OCI runtime CLI that containerd's runc
// shim, Podman's conmon and CRI-O call). Parses the global flags, dispatches
// to one file per verb, and turns an error into runc's behaviour: the message
// on stderr and as an "error" line in the --log file, exit status 1.
// scripts/tsbox-runc runs this file itself, not main.ts: Deno reads every
// module a program may import before it starts, and main.ts can import every
// Docker verb (about 220 files to read, 5 ms; this one's graph is about 90).

import { formatError } from "../../errors.ts";
import { type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { type GlobalOptions, logLine } from "./log.ts";

/** A verb of tsbox-runc. */
export interface OciVerb {
  main(g: GlobalOptions, args: string[]): Promise<number>;
}

const VERBS: Record<string, { summary: string; load: () => Promise<OciVerb> }> = {
  create: { summary: "create a container", load: () => import("./create.ts") },
  start: { summary: "start a created container", load: () => import("./start.ts") },
  run: { summary: "create and start a container", load: () => import("./run.ts") },
  state: { summary: "output the state of a container", load: () => import("./state.ts") },
  kill: { summary: "send a signal to the container's init", load: () => import("./kill.ts") },
  delete: { summary: "delete a container", load: () => import("./delete.ts") },
  exec: { summary: "run a process in a running container", load: () => import("./exec.ts") },
  ps: { summary: "list a container's processes", load: () => import("./ps.ts") },
  events: { summary: "print a container's stats as events", load: () => import("./events.ts") },
  pause: {
    summary: "freeze a container",
    load: async () => (await import("./pause.ts")).verb("pause"),
  },
  resume: {
    summary: "thaw a paused container",
    load: async () => (await import("./pause.ts")).verb("resume"),
  },
  update: { summary: "change a container's limits", load: () => import("./update.ts") },
  list: { summary: "list containers", load: () => import("./list.ts") },
  spec: { summary: "create a new specification file", load: () => import("./spec.ts") },
  features: { summary: "show the enabled features", load: () => import("./features.ts") },
  checkpoint: { summary: "(not supported)", load: () => import("./checkpoint.ts") },
  restore: { summary: "(not supported)", load: () => import("./checkpoint.ts") },
};

/** Default state directory of tsbox-runc (runc's is /run/runc). */
export const DEFAULT_ROOT = "/run/tsbox-runc";

const GLOBAL_FLAGS: FlagDef[] = [
  { name: "root", type: "string", value: "DIR", help: `state directory (default ${DEFAULT_ROOT})` },
  { name: "log", type: "string", value: "FILE", help: "log file (default: stderr)" },
  { name: "log-format", type: "string", value: "FORMAT", help: "text (default) or json" },
  { name: "debug", type: "bool", help: "debug output in the log" },
  { name: "systemd-cgroup", type: "bool", help: 'cgroupsPath is "slice:prefix:name"' },
  { name: "rootless", type: "string", value: "auto|true|false", help: "accepted; needs root" },
  { name: "trace", type: "bool", help: "print each step of create/run with its duration" },
  { name: "criu", type: "string", value: "PATH", help: "ignored (checkpoint is not supported)" },
  { name: "help", short: "h", type: "bool", help: "show help" },
  { name: "version", short: "v", type: "bool", help: "print the version" },
];

function usage(): string {
  const w = Math.max(...Object.keys(VERBS).map((k) => k.length)) + 3;
  return formatHelp(
    "runtime [global options] COMMAND [options] ID",
    "tsbox as an OCI runtime, with runc's command line (also: scripts/tsbox-runc).\n\nCommands:\n" +
      Object.entries(VERBS).map(([k, v]) => `  ${k.padEnd(w)}${v.summary}`).join("\n"),
    [
      "tsbox-runc spec && tsbox-runc run --bundle . box",
      "tsbox-runc --root /tmp/state create --bundle /b --pid-file /b/pid box && tsbox-runc start box",
    ],
    GLOBAL_FLAGS,
  );
}

/** Go's flag package also takes "-root"; so do containerd and conmon sometimes. */
function normalizeGlobals(args: string[]): string[] {
  const long = new Set(GLOBAL_FLAGS.map((f) => f.name));
  return args.map((a) =>
    /^-[a-z][a-z-]+(=.*)?$/.test(a) && long.has(a.slice(1).split("=")[0]!) ? `-${a}` : a
  );
}

/** Entry point of `tsbox runtime ...` and scripts/tsbox-runc. Returns the exit status. */
export async function ociMain(argv: string[]): Promise<number> {
  const g: GlobalOptions = {
    root: DEFAULT_ROOT,
    logFormat: "text",
    debug: false,
    systemdCgroup: false,
    rootless: "auto",
  };
  try {
    const { flags, positionals } = parseFlags("runtime", normalizeGlobals(argv), GLOBAL_FLAGS);
    g.root = str(flags, "root") ?? DEFAULT_ROOT;
    const log = str(flags, "log");
    if (log) g.log = log;
    const fmt = str(flags, "log-format") ?? "text";
    if (fmt !== "text" && fmt !== "json") throw new Error(`invalid log format ${fmt}`);
    g.logFormat = fmt;
    g.debug = flags.debug === true;
    g.systemdCgroup = flags["systemd-cgroup"] === true;
    g.rootless = str(flags, "rootless") ?? "auto";
    g.trace = flags.trace === true;
    const [verb, ...rest] = positionals;
    if (flags.version === true) {
      console.log(`tsbox-runc version 0.1.0\nspec: 1.1.0\ndeno: ${Deno.version.deno}`);
      return 0;
    }
    if (flags.help === true || verb === undefined || verb === "help") {
      console.log(usage());
      return verb === undefined && flags.help !== true ? 1 : 0;
    }
    const entry = VERBS[verb];
    if (!entry) throw new Error(`no such command: ${verb}`);
    logLine(g, "debug", `${verb} ${rest.join(" ")}`);
    return await (await entry.load()).main(g, rest);
  } catch (e) {
    const msg = formatError(e);
    logLine(g, "error", msg);
    console.error(`tsbox-runc: ${msg}`);
    if (g.debug && e instanceof Error) console.error(e.stack);
    return 1;
  }
}

if (import.meta.main) {
  // The entry point of scripts/tsbox-runc (the second main, beside main.ts).
  Deno.exit(await ociMain(Deno.args));
}
