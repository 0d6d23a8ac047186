// `tsbox run`. As with Docker, the long-lived process does the work: the CLI
// checks the request (src/spec/run_config.ts checkRunOptions, before this
// module runs), resolves what only it knows (its environment, working
// directory and terminal size), and hands the request to the supervisor
// (src/supervisor/server.ts), which creates and starts the container warm —
// nothing to load or compile. Detached (`-d`), the container's output goes
// to its log and the CLI prints its id. In the foreground, the CLI's fds 0-2
// (pidfd_getfd(2)) are the container's stdio; the CLI relays a terminal,
// forwards its signals to the container's PID 1, prints --trace lines, and
// exits with the container's code (128+N when killed by signal N). The
// container outlives a CLI killed meanwhile, and `ps` keeps telling the
// truth about it.

import { SIGNALS } from "../../ffi/constants.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { exitCodeOf, runExitCode, TsboxError } from "../errors.ts";
import { relayConsole, windowSize } from "../runtime/console.ts";
import { pidfdOpen, signalPidfd } from "../runtime/process.ts";
import { parseEnvFile } from "../spec/env.ts";
import { SupervisorClient } from "../supervisor/client.ts";
import { answerError } from "../supervisor/protocol.ts";
import type { RunOptions } from "../spec/run_options.ts";

/** Signals tsbox passes on to the container, as `docker run` does (sig-proxy). */
const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/** What only this process knows: its environment and working directory. */
function resolveHere(opts: RunOptions): RunOptions {
  const abs = (p: string) => (p.startsWith("/") ? p : `${Deno.cwd()}/${p}`);
  const fromFiles = opts.envFiles.flatMap((f) => {
    try {
      return parseEnvFile(Deno.readTextFileSync(abs(f)));
    } catch (e) {
      throw new TsboxError(`open env file ${JSON.stringify(f)}`, { cause: e, exitCode: 125 });
    }
  });
  const env = [...fromFiles, ...opts.env].flatMap((e) => {
    if (e.includes("=")) return [e];
    const v = Deno.env.get(e); // "-e NAME" passes our value, as Docker does
    return v === undefined ? [] : [`${e}=${v}`];
  });
  const ws = opts.tty ? windowSize(1) ?? windowSize(0) : undefined;
  return {
    ...opts,
    env,
    envFiles: [],
    ...(opts.rootfs !== undefined ? { rootfs: abs(opts.rootfs) } : {}),
    ...(ws ? { consoleSize: { height: ws[0], width: ws[1] } } : {}),
  };
}

/** A `run` error with `docker run`'s exit code (126 and 127 stay, else 125). */
function runError(e: unknown): TsboxError {
  return new TsboxError("", { cause: e, exitCode: runExitCode(exitCodeOf(e)) });
}

/** Starts a container in the background (`run -d`); returns its id. */
export async function runDetached(opts: RunOptions): Promise<string> {
  const options = resolveHere(opts);
  const fault = Deno.env.get("TSBOX_FAULT");
  const client = await SupervisorClient.connect();
  let res;
  try {
    await client.send({
      op: "run",
      options,
      detach: true,
      clientPid: Deno.pid,
      trace: opts.trace,
      ...(fault ? { fault } : {}),
    });
    for (;;) {
      const m = await client.next();
      if (m === undefined) {
        throw new TsboxError("the supervisor closed the connection without answering");
      }
      if ("trace" in m) console.error(m.trace);
      else if ("ok" in m) {
        res = m;
        break;
      }
    }
  } finally {
    client.close();
  }
  if (!res.ok) throw runError(answerError(res));
  return res.id!;
}

/** Runs a container in the foreground; returns its exit code. */
export async function runForeground(opts: RunOptions): Promise<number> {
  // Listen before the container exists: a signal that arrives while it starts
  // is delivered as soon as its pid is known, instead of killing this CLI.
  let pidfd = -1;
  const pending: number[] = [];
  const forward = FORWARDED.map((name) => {
    const fn = () => {
      if (pidfd >= 0) signalPidfd(pidfd, SIGNALS[name]!);
      else pending.push(SIGNALS[name]!);
    };
    Deno.addSignalListener(name, fn);
    return () => Deno.removeSignalListener(name, fn);
  });
  const client = await SupervisorClient.connect();
  try {
    const fault = Deno.env.get("TSBOX_FAULT");
    await client.send({
      op: "run",
      options: resolveHere(opts),
      clientPid: Deno.pid,
      trace: opts.trace,
      ...(fault ? { fault } : {}),
    });
    let started: { pid: number; console?: number; supervisor?: number } | undefined;
    for (;;) {
      const m = await client.next();
      if (m === undefined) throw new TsboxError("lost the supervisor while starting the container");
      if ("trace" in m) console.error(m.trace);
      else if ("ok" in m) {
        if (!m.ok) throw runError(answerError(m));
        started = {
          pid: m.pid!,
          ...(m.console !== undefined ? { console: m.console, supervisor: m.supervisor! } : {}),
        };
        break;
      }
    }
    // Signals go straight to the container, through a pidfd of our own (none
    // if it has already ended).
    pidfd = sysRaw("pidfd_open", [started.pid, 0]);
    if (pidfd >= 0) { for (const sig of pending.splice(0)) signalPidfd(pidfd, sig); }
    let relay: ReturnType<typeof relayConsole> | undefined;
    if (started.console !== undefined) {
      const sup = pidfdOpen(started.supervisor!);
      try {
        relay = relayConsole(
          sys("pidfd_getfd", [sup, started.console, 0], "the console from the supervisor"),
        );
      } finally {
        sysRaw("close", [sup]);
      }
      await client.send({ op: "console-taken" });
    }
    try {
      for (;;) {
        const m = await client.next();
        if (m === undefined) {
          throw new TsboxError("lost the supervisor while the container ran (see `tsbox ps -a`)");
        }
        if ("trace" in m) console.error(m.trace);
        else if ("exit" in m) {
          if (relay) await relay.done;
          return m.exit;
        }
      }
    } finally {
      relay?.restore();
    }
  } finally {
    forward.forEach((off) => off());
    if (pidfd >= 0) sysRaw("close", [pidfd]);
    client.close();
  }
}
