// tsbox stop, kill, start, restart, wait, rename: simple verbs on existing
// containers, one table entry each (help, flags, one call into the runtime).

import { ErrorList, formatError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags } from "../flags.ts";

interface SimpleVerb {
  usage: string;
  description: string;
  examples: string[];
  flags: FlagDef[];
  /** Exact number of containers, or undefined for one or more. */
  arity?: number;
  /** Runs for one container; returns what to print (default: the reference). */
  each: (ref: string, flags: Record<string, unknown>, rest: string[]) => Promise<string | void>;
}

const help: FlagDef = { name: "help", type: "bool", help: "Print usage" };

const lifecycle = () => import("../../container/lifecycle.ts");

/** The verbs. */
export const VERBS: Record<string, SimpleVerb> = {
  stop: {
    usage: "stop [OPTIONS] CONTAINER [CONTAINER...]",
    description: "Stop running containers: SIGTERM, then SIGKILL after a grace period.",
    examples: ["tsbox stop web", "tsbox stop -t 2 web"],
    flags: [
      {
        name: "time",
        short: "t",
        type: "int",
        value: "SECONDS",
        help: "Seconds to wait before killing (default 10)",
      },
      {
        name: "signal",
        short: "s",
        type: "string",
        value: "SIGNAL",
        help: "Signal to send first (default SIGTERM)",
      },
      help,
    ],
    each: async (ref, f) => {
      const l = await lifecycle();
      const sig = typeof f.signal === "string" ? l.parseSignal(f.signal) : undefined;
      await l.stopContainer(ref, typeof f.time === "number" ? f.time : 10, sig);
    },
  },
  kill: {
    usage: "kill [OPTIONS] CONTAINER [CONTAINER...]",
    description: "Send a signal to running containers (default SIGKILL).",
    examples: ["tsbox kill web", "tsbox kill -s HUP web"],
    flags: [{
      name: "signal",
      short: "s",
      type: "string",
      value: "SIGNAL",
      help: "Signal to send (default KILL)",
    }, help],
    each: async (ref, f) => {
      const l = await lifecycle();
      await l.killContainer(
        ref,
        typeof f.signal === "string" ? l.parseSignal(f.signal) : undefined,
      );
    },
  },
  start: {
    usage: "start [OPTIONS] CONTAINER [CONTAINER...]",
    description:
      "Start stopped containers: in the background, or attached to this terminal with -a\n(then tsbox exits with the container's exit code).",
    examples: ["tsbox start web", "tsbox start -ai box"],
    flags: [
      {
        name: "attach",
        short: "a",
        type: "bool",
        help: "Attach STDOUT/STDERR and forward signals",
      },
      { name: "interactive", short: "i", type: "bool", help: "Attach container's STDIN" },
      help,
    ],
    each: async (ref) => await (await lifecycle()).startExisting(ref),
  },
  restart: {
    usage: "restart [OPTIONS] CONTAINER [CONTAINER...]",
    description: "Restart containers.",
    examples: ["tsbox restart web"],
    flags: [{
      name: "time",
      short: "t",
      type: "int",
      value: "SECONDS",
      help: "Seconds to wait before killing (default 10)",
    }, help],
    each: async (ref, f) =>
      await (await lifecycle()).restartContainer(ref, typeof f.time === "number" ? f.time : 10),
  },
  wait: {
    usage: "wait CONTAINER [CONTAINER...]",
    description: "Block until containers stop, then print their exit codes.",
    examples: ["tsbox wait web"],
    flags: [help],
    each: async (ref) => String(await (await lifecycle()).waitContainer(ref)),
  },
  rename: {
    usage: "rename CONTAINER NEW_NAME",
    description: "Rename a container.",
    examples: ["tsbox rename web web-old"],
    flags: [help],
    arity: 2,
    each: async (ref, _f, rest) => {
      (await lifecycle()).renameContainer(ref, rest[0]!);
      return "";
    },
  },
  pause: {
    usage: "pause CONTAINER [CONTAINER...]",
    description: "Freeze all processes of containers (cgroup freezer).",
    examples: ["tsbox pause web"],
    flags: [help],
    each: async (ref) => await (await import("../../container/pause.ts")).pauseContainer(ref),
  },
  unpause: {
    usage: "unpause CONTAINER [CONTAINER...]",
    description: "Thaw paused containers.",
    examples: ["tsbox unpause web"],
    flags: [help],
    each: async (ref) => await (await import("../../container/pause.ts")).unpauseContainer(ref),
  },
};

/** Runs simple verb `name`. */
export async function runVerb(name: string, args: string[]): Promise<number> {
  const v = VERBS[name]!;
  const { flags, positionals } = parseFlags(name, args, v.flags, true);
  if (bool(flags, "help")) {
    console.log(formatHelp(v.usage, v.description, v.examples, v.flags));
    return 0;
  }
  if (v.arity !== undefined ? positionals.length !== v.arity : positionals.length === 0) {
    throw new UsageError(
      `"tsbox ${name}" requires ${
        v.arity !== undefined ? `exactly ${v.arity} arguments` : "at least 1 argument"
      }.\nSee 'tsbox ${name} --help'.`,
    );
  }
  if (name === "start" && (bool(flags, "attach") || bool(flags, "interactive"))) {
    if (positionals.length > 1) {
      throw new UsageError("you cannot start and attach multiple containers at once");
    }
    const { attachContainer } = await import("../../container/attach.ts");
    return await attachContainer(positionals[0]!, {
      sigProxy: true,
      noStdin: !bool(flags, "interactive"),
      start: true,
    });
  }
  const refs = v.arity === 2 ? [positionals[0]!] : positionals;
  const rest = v.arity === 2 ? positionals.slice(1) : [];
  const errs = new ErrorList();
  for (const ref of refs) {
    await errs.tryAsync(`${name} ${ref}`, async () => {
      const out = await v.each(ref, flags, rest);
      if (out !== "") console.log(out ?? ref);
    });
  }
  for (const e of errs.errors) console.error(`tsbox: ${formatError(e)}`);
  if (errs.errors.length === 1 && refs.length === 1) {
    const c = (errs.errors[0] as { exitCode?: number }).exitCode;
    return c === 125 ? 125 : 1;
  }
  return errs.errors.length ? 1 : 0;
}
