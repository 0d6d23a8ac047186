// Talking to the supervisor, and starting it when none runs: the CLI clones
// a process (with the same syscall-program trampoline as containers) that
// starts a new session, points its output at supervisor.log and execs this
// same tsbox with the hidden verb `supervise`. Two CLIs racing to start one
// are fine: the supervisor takes a lock, and the loser exits.

import { O } from "../../ffi/constants.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { runRoot } from "../paths.ts";
import type { Step } from "../runtime/steps.ts";
import { type Answer, encode, readLine, type Request, type Response } from "./protocol.ts";

/** The supervisor's socket. */
export function socketPath(): string {
  return `${runRoot()}/supervisor.sock`;
}

/**
 * The argv that runs this tsbox again (a compiled binary, or deno with
 * main.ts). The supervisor mostly waits, so it runs V8 without its JIT,
 * with a small young generation and no GC helper threads: about 11 MB less
 * memory, shared by every container it watches. --expose-gc lets it collect
 * before trimming when idle (src/supervisor/trim.ts).
 */
export function selfCommand(verb: string): string[] {
  const main = new URL("../../main.ts", import.meta.url);
  if (main.protocol === "file:" && !main.pathname.includes("/deno-compile-")) {
    return [
      Deno.execPath(),
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-all",
      "--v8-flags=--lite-mode,--max-semi-space-size=1,--single-threaded,--expose-gc",
      main.pathname,
      verb,
    ];
  }
  return [Deno.execPath(), verb];
}

/** Starts a supervisor process in the background (its own session). */
export async function launchSupervisor(): Promise<void> {
  // Loaded only here: most commands find a supervisor already running.
  const { encodeProgram } = await import("../../ffi/program.ts");
  const { spawn } = await import("../../ffi/spawn.ts");
  const { lower } = await import("../runtime/lower.ts");
  const dir = runRoot();
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const log = sys("open", [
    `${dir}/supervisor.log`,
    O.WRONLY | O.APPEND | O.CREAT | O.CLOEXEC,
    0o600,
  ]);
  const nul = sys("open", ["/dev/null", O.RDONLY | O.CLOEXEC]);
  try {
    const argv = selfCommand("supervise");
    // A CLI's fault injection is for that CLI's work (it is passed with a `run`), never the supervisor's own.
    const env = Object.entries(Deno.env.toObject()).filter(([k]) => k !== "TSBOX_FAULT").map((
      [k, v],
    ) => `${k}=${v}`);
    const steps: Step[] = [
      { op: "setsid" },
      { op: "dup2", from: nul, to: 0 },
      { op: "dup2", from: log, to: 1 },
      { op: "dup2", from: log, to: 2 },
      { op: "chdir", path: "/" },
      { op: "cloexec-from", from: 3 },
      // Whatever it creates without an explicit mode is private (logs, sockets, state files).
      { op: "umask", mask: 0o077 },
      { op: "reset-signals" },
      { op: "exec", candidates: [argv[0]!], argv, env },
    ];
    const { builder } = lower(steps);
    const child = spawn({ program: encodeProgram(builder.ops, -1, -1), flags: 0n });
    sysRaw("close", [child.pidfd]);
  } finally {
    sysRaw("close", [log]);
    sysRaw("close", [nul]);
  }
}

/** A connection to the supervisor. */
export class SupervisorClient {
  readonly #conn: Deno.Conn;
  readonly #pending = { buf: "" };

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects, starting a supervisor first if none answers. */
  static async connect(timeoutMs = 30_000): Promise<SupervisorClient> {
    const path = socketPath();
    const deadline = Date.now() + timeoutMs;
    let launched = false;
    let delay = 5;
    for (;;) {
      try {
        return new SupervisorClient(await Deno.connect({ transport: "unix", path }));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused)) {
          throw new TsboxError(`connect to the supervisor at ${JSON.stringify(path)}`, {
            cause: e,
          });
        }
      }
      if (!launched) {
        await launchSupervisor();
        launched = true;
      }
      if (Date.now() > deadline) {
        throw new TsboxError(`the supervisor did not start (see ${runRoot()}/supervisor.log)`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 100);
    }
  }

  /** Sends one request and waits for its answer (an ok or an error). */
  async request(req: Request): Promise<Answer> {
    await this.send(req);
    for (;;) {
      const res = await this.next();
      if (res === undefined) {
        throw new TsboxError("the supervisor closed the connection without answering");
      }
      if ("ok" in res) return res;
    }
  }

  /** Sends a request without waiting. */
  async send(req: Request): Promise<void> {
    try {
      await this.#conn.write(encode(req));
    } catch (e) {
      throw new TsboxError("lost the connection to the supervisor", { cause: e });
    }
  }

  /** The next message from the supervisor; undefined when it closed the connection. */
  async next(): Promise<Response | undefined> {
    let line: string | undefined;
    try {
      line = await readLine(this.#conn, this.#pending);
    } catch (e) {
      if (e instanceof Deno.errors.ConnectionReset) return undefined; // it died: same as closing
      throw new TsboxError("lost the connection to the supervisor", { cause: e });
    }
    return line === undefined ? undefined : JSON.parse(line) as Response;
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
