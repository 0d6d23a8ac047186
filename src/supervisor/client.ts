// Talking to the supervisor, and starting it when none runs: the CLI clones
// a process (with the same syscall-program trampoline as containers) that
// starts a new session, points its output at supervisor.log and execs this
// same tsbox with the hidden verb `supervise`. Two CLIs racing to start one
// are fine: the supervisor takes the state root's lock (lock.ts), and the
// other waits for it or exits once the first answers (daemon.ts).
//
// A request reaches a supervisor or is sent again: every connection starts
// with the supervisor's hello, written before it reads anything, so a
// connection that ends before its hello was never served (its supervisor was
// exiting idle) and the request goes, unchanged, to a new connection.
//
// The rule for namespaces: a state root's containers, networks and mounts
// live in the network and mount namespaces of its supervisor, so while one
// runs, a CLI in other namespaces is refused (checkCallerNamespaces), rather
// than building bridges and rules where the containers are not.

import { O } from "../../ffi/constants.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import { runRoot } from "../paths.ts";
import type { Step } from "../runtime/steps.ts";
import { lockHolder } from "./lock.ts";
import { type Answer, encode, readLine, type Request, type Response } from "./protocol.ts";

/**
 * Writes all of `bytes` to `conn`: a stream socket may take less than asked
 * (a large request or a full buffer), and a lost tail would leave the other
 * side waiting for the rest of a line forever.
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** The supervisor's socket. */
export function socketPath(): string {
  return `${runRoot()}/supervisor.sock`;
}

/**
 * The argv that runs this tsbox again (a compiled binary, or deno with
 * main.ts). The supervisor mostly waits, so it runs V8 without its JIT,
 * with a small young generation and no GC helper threads: about 11 MB less
 * memory, shared by every container it watches. --expose-gc lets it collect
 * before trimming when idle (src/supervisor/trim.ts). The other flags are
 * scripts/tsbox's (see there).
 */
export function selfCommand(verb: string): string[] {
  const main = new URL("../../main.ts", import.meta.url);
  if (main.protocol === "file:" && !main.pathname.includes("/deno-compile-")) {
    return [
      Deno.execPath(),
      "run",
      "--quiet",
      "--no-prompt",
      "--no-config",
      "--unstable-lazy-dynamic-imports",
      "--allow-all",
      "--v8-flags=--lite-mode,--max-semi-space-size=1,--single-threaded,--expose-gc",
      main.pathname,
      verb,
    ];
  }
  return [Deno.execPath(), verb];
}

/**
 * Starts a supervisor process in the background (its own session); returns
 * a pidfd of it (the caller closes it), to notice a supervisor that cannot start.
 */
export async function launchSupervisor(): Promise<number> {
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
    return child.pidfd;
  } finally {
    sysRaw("close", [log]);
    sysRaw("close", [nul]);
  }
}

/** Where the supervisor writes the namespaces it serves (daemon.ts). */
export function namespacesPath(): string {
  return `${runRoot()}/supervisor.ns`;
}

/** The calling thread's network and mount namespaces, and its process. */
export function ownNamespaces(): { pid: number; net: string; mnt: string } {
  const ns = (n: string) => Deno.readLinkSync(`/proc/thread-self/ns/${n}`);
  return { pid: Deno.pid, net: ns("net"), mnt: ns("mnt") };
}

/**
 * Refuses, with the reason, a caller in another network or mount namespace
 * than the state root's running supervisor (see the header). Nothing to check
 * when none runs.
 */
export function checkCallerNamespaces(): void {
  const pid = lockHolder();
  if (pid === undefined || pid === Deno.pid) return;
  let theirs: { pid: number; net: string; mnt: string } | undefined;
  try {
    theirs = JSON.parse(Deno.readTextFileSync(namespacesPath()));
  } catch { /* not written yet, or the run root was just deleted: it makes it again */ }
  if (!theirs || (pid > 0 && theirs.pid !== pid)) return;
  const mine = ownNamespaces();
  for (const ns of ["net", "mnt"] as const) {
    if (theirs[ns] !== mine[ns]) {
      const kind = ns === "net" ? "network" : "mount";
      throw new TsboxError(
        `the supervisor of this state root (pid ${theirs.pid}) runs in another ${kind} namespace (${
          theirs[ns]
        }, this command: ${mine[ns]}): ` +
          "its containers and networks are there; run tsbox from that namespace, or use another TSBOX_ROOT",
      );
    }
  }
}

/** Starts a supervisor unless one runs for this state root (pending restarts, after a crash or reboot). */
export function ensureSupervisor(): Promise<void> {
  if (lockHolder() !== undefined) return Promise.resolve();
  return ensuring ??= launchSupervisor().then((fd) => void sysRaw("close", [fd]));
}
let ensuring: Promise<void> | undefined;

/** The last error a supervisor wrote to supervisor.log (main.ts writes "tsbox: ..."). */
function lastSupervisorError(): string | undefined {
  try {
    const text = Deno.readTextFileSync(`${runRoot()}/supervisor.log`);
    return text.split("\n").reverse().find((l) => l.startsWith("tsbox: "))?.slice(7);
  } catch {
    return undefined;
  }
}

/** Connects to the socket, starting a supervisor first if none answers. */
async function dial(deadline: number): Promise<Deno.Conn> {
  const path = socketPath();
  let launched: number | undefined;
  let delay = 5;
  try {
    for (;;) {
      try {
        return await Deno.connect({ transport: "unix", path });
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused)) {
          throw new TsboxError(`connect to the supervisor at ${JSON.stringify(path)}`, {
            cause: e,
          });
        }
      }
      if (launched === undefined) launched = await launchSupervisor();
      else if (pollReadable(launched) && lockHolder() === undefined) {
        // The one we started ended without serving, and none other runs: say why, now.
        const why = lastSupervisorError();
        throw new TsboxError(
          `the supervisor could not start${
            why ? `: ${why}` : ""
          } (see ${runRoot()}/supervisor.log)`,
        );
      }
      if (Date.now() > deadline) {
        const holder = lockHolder();
        throw new TsboxError(
          holder === undefined
            ? `the supervisor did not start (see ${runRoot()}/supervisor.log)`
            : `the supervisor of this state root (pid ${holder}) does not answer on ${
              JSON.stringify(path)
            } (see ${runRoot()}/supervisor.log)`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 100);
    }
  } finally {
    if (launched !== undefined) sysRaw("close", [launched]);
  }
}

/** Whether a pidfd is readable (its process has ended), without waiting. */
function pollReadable(fd: number): boolean {
  const pfd = new Int16Array([0, 0, 1, /* POLLIN */ 0]);
  new Int32Array(pfd.buffer)[0] = fd;
  return sysRaw("poll", [pfd, 1, 0]) > 0 && (pfd[3]! & 1) !== 0;
}

/** A connection to the supervisor. */
export class SupervisorClient {
  #conn: Deno.Conn;
  #pending: { buf: string; dec?: TextDecoder } = { buf: "" };
  readonly #deadline: number;
  /** The supervisor said hello: what we send is read and answered. */
  #served = false;
  /** The first request, sent again on a new connection if this one was never served. */
  #first: Uint8Array | undefined;
  /** A write failed before the hello. */
  #broken = false;

  private constructor(conn: Deno.Conn, deadline: number) {
    this.#conn = conn;
    this.#deadline = deadline;
  }

  /** Connects, starting a supervisor first if none answers. */
  static async connect(timeoutMs = 30_000): Promise<SupervisorClient> {
    checkCallerNamespaces();
    const deadline = Date.now() + timeoutMs;
    return new SupervisorClient(await dial(deadline), deadline);
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
    const bytes = encode(req);
    if (!this.#served) this.#first ??= bytes;
    try {
      await writeAll(this.#conn, bytes);
    } catch (e) {
      // Not served yet: next() sends it again, to a supervisor that answers.
      if (!this.#served && this.#first === bytes) this.#broken = true;
      else throw new TsboxError("lost the connection to the supervisor", { cause: e });
    }
  }

  /** The next message from the supervisor; undefined when it closed the connection. */
  async next(): Promise<Response | undefined> {
    for (;;) {
      let line: string | undefined;
      if (!this.#broken) {
        try {
          line = await readLine(this.#conn, this.#pending);
        } catch (e) {
          if (!(e instanceof Deno.errors.ConnectionReset)) {
            throw new TsboxError("lost the connection to the supervisor", { cause: e });
          }
          // It died, or closed its listener before accepting us: same as closing.
        }
      }
      if (this.#served) return line === undefined ? undefined : JSON.parse(line) as Response;
      if (line === undefined) {
        if (this.#first === undefined) return undefined;
        await this.#again();
        continue;
      }
      this.#served = true;
      const msg = JSON.parse(line) as Response;
      if (!("hello" in msg)) return msg;
    }
  }

  /** A new connection (to a new supervisor, if need be), with the first request sent again. */
  async #again(): Promise<void> {
    this.close();
    if (Date.now() > this.#deadline) {
      throw new TsboxError(
        "the supervisor closed the connection before answering (see `tsbox ps -a`)",
      );
    }
    this.#conn = await dial(this.#deadline);
    this.#pending = { buf: "" };
    this.#broken = false;
    try {
      await writeAll(this.#conn, this.#first!);
    } catch {
      this.#broken = true;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
