// `tsbox run` in the foreground: create the container, start it, relay its
// terminal or share our stdio, forward our signals to its first process,
// wait, record how it ended, and remove it with --rm. The exit code is the
// container's own (128+N when killed by signal N).

import { SIGNALS } from "../../ffi/constants.ts";
import type { Started } from "../runtime/executor.ts";
import { exitCodeOf, formatError } from "../errors.ts";
import { startCreated } from "./start.ts";
import { relayConsole } from "../runtime/console.ts";
import { signalPidfd, waitPidfd } from "../runtime/process.ts";
import { Tracer } from "../runtime/trace.ts";
import { createContainer } from "./create.ts";
import type { RunOptions } from "./options.ts";
import { recordExit, recordStartFailure } from "./exit.ts";

/** Signals tsbox passes on to the container, as `docker run` does (sig-proxy). */
const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/** Runs a container in the foreground; returns its exit code. */
export async function runForeground(opts: RunOptions): Promise<number> {
  const trace = new Tracer(opts.trace);
  const c = await trace.runAsync(
    "validate the request and record the container",
    () => createContainer(opts),
  );
  const id = c.record.id;
  let started: Started;
  try {
    started = await startCreated(c, {
      stdin: opts.interactive ? "inherit" : "null",
      stdout: "inherit",
      stderr: "inherit",
    }, trace);
  } catch (e) {
    await recordStartFailure(id, formatError(e), exitCodeOf(e));
    throw e;
  }
  const forward = FORWARDED.map((name) => {
    const fn = () => signalPidfd(started.pidfd, SIGNALS[name]!);
    Deno.addSignalListener(name, fn);
    return () => Deno.removeSignalListener(name, fn);
  });
  const relay = started.console !== undefined ? relayConsole(started.console) : undefined;
  const status = await waitPidfd(started.pidfd);
  if (relay) {
    await relay.done;
    relay.restore();
  }
  for (const off of forward) off();
  trace.line("child", `exited with ${status.code}`);
  return await recordExit(id, status, undefined, trace);
}
