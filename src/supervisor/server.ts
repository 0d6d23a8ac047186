// The supervisor: one process per state root, started on demand by the first
// `run` and gone when nothing is left to watch. It is the parent of every
// container's first process (a foreground `run` hands it the request and its
// stdio, see src/container/run.ts), so it learns each exit status
// (waitid on the pidfd), writes the container's output to its log, records
// the exit (and OOM kills), releases the network and cgroup, applies the
// restart policy and removes --rm containers.
//
// Its death never takes a container with it: containers keep running (their
// log FIFOs only fill up), `ps` still tells the truth from /proc, and a new
// supervisor adopts running containers (watching them by pidfd; their exit
// status is then unknown, and they are recorded as dead with that reason).

import { O, P_PIDFD, WEXITED, WNOHANG } from "../../ffi/constants.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { errorToWire, exitCodeOf, formatError, TsboxError } from "../errors.ts";
import { NO_TRACE, Tracer } from "../runtime/trace.ts";
import { findContainer, getContainer, listContainers } from "../state/containers.ts";
import { containerFromRecord, createContainer } from "../container/create.ts";
import { startCreated } from "../container/start.ts";
import { recordExit, recordStartFailure } from "../container/exit.ts";
import { releaseResources } from "../container/remove.ts";
import { REBOOTED } from "../state/boot.ts";
import { processAlive } from "../container/status.ts";
import {
  drain,
  LogWriter,
  makeFifos,
  openFifoForContainer,
  openFifoForReading,
  stdinFifo,
  type Stream,
} from "./logs.ts";
import { EPOLLHUP, EPOLLIN, Poller } from "./poller.ts";
import {
  encode,
  encodeBase64,
  readLine,
  type Request,
  type Response,
  type RunRequest,
} from "./protocol.ts";
import { setFault } from "../faults.ts";
import { writeAll } from "./client.ts";
import { ranStably, restartDecision } from "../container/restart.ts";
import { logRotation } from "../spec/log_config.ts";

/** One container being watched. */
interface Watch {
  id: string;
  pid: number;
  pidfd: number;
  /** Our child: its exit status can be read. */
  child: boolean;
  /** Its json-file log; none for a foreground container, whose output goes to the CLI. */
  log?: LogWriter;
  /** Log sources: FIFO readers or the pty master. */
  sources: { fd: number; stream: Stream }[];
  /** A foreground run waiting for the exit code, and its tracer. */
  onExit?: (code: number) => void;
  trace?: Tracer;
  /** The pty master of a detached `-t` container: `attach` writes its input there. */
  console?: number;
  /** Attached CLIs: they get the output as it comes, then the exit code. */
  attached: Set<(r: Response) => void>;
}

/** The supervisor's state and request handlers (its process's life: daemon.ts). */
export class Supervisor {
  readonly poller = new Poller();
  readonly watches = new Map<string, Watch>();
  readonly #buf = new Uint8Array(65536);
  connections = 0;
  lastActivity = Date.now();

  /** Starts (or restarts) a container as our child. */
  async start(id: string, trace: Tracer = NO_TRACE): Promise<Response> {
    const rec = findContainer(id);
    if (this.watches.has(rec.id)) {
      const e = new TsboxError(`container ${rec.name} is already running`, { exitCode: 1 });
      return { ok: false, error: errorToWire(e), exitCode: 1 };
    }
    const c = containerFromRecord(rec);
    const fifos = makeFifos(rec.id);
    const out = openFifoForContainer(fifos.stdout);
    const err = openFifoForContainer(fifos.stderr);
    // -i without -t: stdin is a FIFO the container holds open (so it never
    // reads EOF, as with Docker's -di) and `attach` writes to.
    const interactive = rec.config.openStdin;
    const input = interactive && !c.spec.process?.terminal
      ? openFifoForContainer(stdinFifo(rec.id))
      : undefined;
    const sources = [
      { fd: openFifoForReading(fifos.stdout), stream: "stdout" as const },
      { fd: openFifoForReading(fifos.stderr), stream: "stderr" as const },
    ];
    try {
      const started = await startCreated(
        c,
        { stdin: input ?? "null", stdout: out, stderr: err },
        trace,
      );
      if (started.console !== undefined) {
        sys("fcntl", [started.console, 4, /* F_SETFL */ O.NONBLOCK | O.RDWR]);
        sources.push({ fd: started.console, stream: "stdout" });
      }
      this.watch({
        id: rec.id,
        pid: started.pid,
        pidfd: started.pidfd,
        child: true,
        log: new LogWriter(rec.id, logRotation(rec.config.log)),
        sources,
        ...(started.console !== undefined ? { console: started.console } : {}),
        attached: new Set(),
      });
      return { ok: true, pid: started.pid };
    } catch (e) {
      for (const s of sources) sysRaw("close", [s.fd]);
      await recordStartFailure(rec.id, formatError(e), exitCodeOf(e)).catch(() => {});
      return { ok: false, error: errorToWire(e), exitCode: exitCodeOf(e) };
    } finally {
      sysRaw("close", [out]);
      sysRaw("close", [err]);
      if (input !== undefined) sysRaw("close", [input]);
    }
  }

  /**
   * `tsbox attach`: the CLI gets the pty master's number (to take it with
   * pidfd_getfd and type into it), then every chunk of output as it is read,
   * then the exit code. Returns the detach function, or an error answer.
   */
  attach(ref: string, send: (r: Response) => Promise<void>): (() => void) | Response {
    const rec = findContainer(ref);
    const w = this.watches.get(rec.id);
    if (!w || !w.log) {
      const e = new TsboxError(`container ${rec.name} is not running`, { exitCode: 1 });
      return { ok: false, error: errorToWire(e), exitCode: 1 };
    }
    const listener = (r: Response) => void send(r).catch(() => {});
    w.attached.add(listener);
    void send({
      ok: true,
      id: rec.id,
      pid: w.pid,
      supervisor: Deno.pid,
      ...(w.console !== undefined ? { console: w.console } : {}),
    });
    return () => w.attached.delete(listener);
  }

  watch(w: Watch): void {
    this.watches.set(w.id, w);
    for (const s of w.sources) {
      this.poller.add(s.fd, (ev) => this.#onOutput(w, s, ev), EPOLLIN);
    }
    this.poller.add(w.pidfd, () => void this.#onExit(w));
  }

  #onOutput(w: Watch, s: { fd: number; stream: Stream }, events: number): void {
    // One read per source per turn (epoll is level-triggered: the rest comes
    // next turn), so a container writing without pause shares the loop with
    // the others' output and with the CLIs' requests.
    const chunks = drain(s.fd, this.#buf);
    for (const c of chunks ?? []) this.#emit(w, s.stream, c);
    if (chunks === null || (events & EPOLLHUP && !(events & EPOLLIN))) {
      this.poller.remove(s.fd);
      sysRaw("close", [s.fd]);
      w.sources = w.sources.filter((x) => x !== s);
    }
  }

  /** Output of a container: to its log and to the CLIs attached to it. */
  #emit(w: Watch, stream: Stream, chunk: Uint8Array): void {
    w.log?.write(stream, chunk);
    if (w.attached.size) {
      const msg = { output: encodeBase64(chunk), stream };
      for (const l of w.attached) l(msg);
    }
  }

  async #onExit(w: Watch): Promise<void> {
    this.poller.remove(w.pidfd);
    let status: { code: number; signal?: number } | undefined;
    if (w.child) {
      const si = new Uint8Array(128);
      if (sysRaw("waitid", [P_PIDFD, w.pidfd, si, WEXITED | WNOHANG]) === 0) {
        const dv = new DataView(si.buffer);
        const how = dv.getInt32(8, true), st = dv.getInt32(24, true);
        status = how === 1 ? { code: st } : { code: 128 + st, signal: st };
      }
    }
    sysRaw("close", [w.pidfd]);
    for (const s of w.sources) {
      // What is left in the pipe (a process of the container still writing gets a megabyte).
      for (const c of drain(s.fd, this.#buf, 1 << 20) ?? []) this.#emit(w, s.stream, c);
      this.poller.remove(s.fd);
      sysRaw("close", [s.fd]);
    }
    w.log?.close();
    this.watches.delete(w.id);
    this.lastActivity = Date.now();
    try {
      w.trace?.line("child", `exited with ${status?.code ?? "an unknown status"}`);
      const code = await recordExit(
        w.id,
        status,
        status ? undefined : "exit status lost: its supervisor restarted while it ran",
        w.trace,
      );
      w.onExit?.(code);
      for (const l of w.attached) l({ exit: code });
      await this.restartLater(w.id);
    } catch (e) {
      try {
        console.error(`tsbox supervisor: after exit of ${w.id.slice(0, 12)}: ${formatError(e)}`);
      } catch { /* supervisor.log on a full disk */ }
    }
  }

  /**
   * A `run` for a CLI: create and start the container here (warm: nothing to
   * load or compile). In the foreground, with the CLI's own fds 0-2 taken
   * through pidfd_getfd(2), telling the CLI its exit code when it ends;
   * detached (`run -d`), with its log FIFOs, as `start` does.
   */
  async run(req: RunRequest, send: (r: Response) => Promise<void>): Promise<void> {
    const trace = new Tracer(req.trace, (line) => void send({ trace: line }).catch(() => {}));
    setFault(req.fault);
    const taken: number[] = [];
    let clientPidfd: number | undefined;
    try {
      const opts = req.options;
      const c = await trace.runAsync(
        "validate the request and record the container",
        () => createContainer(opts),
      );
      if (req.detach) {
        const res = await this.start(c.record.id, trace);
        await send("ok" in res && res.ok ? { ...res, id: c.record.id } : res);
        return;
      }
      clientPidfd = sys("pidfd_open", [req.clientPid, 0], `the CLI, pid ${req.clientPid}`);
      const take = (fd: number) => {
        const mine = sys("pidfd_getfd", [clientPidfd!, fd, 0], `fd ${fd} of the CLI`);
        taken.push(mine);
        return mine;
      };
      let started;
      try {
        started = await startCreated(c, {
          stdin: opts.interactive && !opts.tty ? take(0) : "null",
          stdout: opts.tty ? "inherit" : take(1),
          stderr: opts.tty ? "inherit" : take(2),
        }, trace);
      } catch (e) {
        await recordStartFailure(c.record.id, formatError(e), exitCodeOf(e));
        throw e;
      }
      this.watch({
        id: c.record.id,
        pid: started.pid,
        pidfd: started.pidfd,
        child: true,
        sources: [],
        trace,
        attached: new Set(),
        onExit: (code) => void send({ exit: code }).catch(() => {}),
      });
      if (started.console !== undefined) this.consoles.set(c.record.id, started.console);
      await send({
        ok: true,
        id: c.record.id,
        pid: started.pid,
        supervisor: Deno.pid,
        ...(started.console !== undefined ? { console: started.console } : {}),
      });
    } catch (e) {
      await send({ ok: false, error: errorToWire(e), exitCode: exitCodeOf(e) });
    } finally {
      setFault(undefined);
      for (const fd of taken) sysRaw("close", [fd]);
      if (clientPidfd !== undefined) sysRaw("close", [clientPidfd]);
    }
  }

  /** Runs `fn` with a CLI's fault injection point set (crash tests). */
  async withFault<T>(point: string | undefined, fn: () => Promise<T>): Promise<T> {
    setFault(point);
    try {
      return await fn();
    } finally {
      setFault(undefined);
    }
  }

  /** pty masters kept until the CLI has taken its copy. */
  readonly consoles = new Map<string, number>();

  /** Exits in a row less than 10 s after their start, per container (the restart delay). */
  readonly #streaks = new Map<string, number>();

  /** Restarts that are waiting for their delay: the supervisor does not idle out meanwhile. */
  pendingRestarts = 0;

  /** Applies the restart policy's decision (recorded as status "restarting") after its delay. */
  async restartLater(id: string, now = false): Promise<void> {
    const rec = getContainer(id);
    // Quick exits in a row; a run of 10 s starts the count again (Docker's rule).
    const streak = rec && ranStably(rec)
      ? 1
      : (this.#streaks.get(id) ?? Math.max(0, (rec?.restartCount ?? 1) - 1)) + 1;
    const due = restartDecision(rec, streak);
    if (due === undefined) {
      this.#streaks.delete(id);
      return;
    }
    this.#streaks.set(id, streak);
    const next = now ? 0 : due;
    this.pendingRestarts++;
    try {
      await new Promise((r) => setTimeout(r, next));
      const rec = getContainer(id);
      if (rec && rec.status === "restarting" && !rec.stopRequested) await this.start(id);
    } finally {
      this.pendingRestarts--;
      this.lastActivity = Date.now();
    }
  }

  /**
   * Takes over from a supervisor that died: watches running containers,
   * records those that ended meanwhile, and does pending restarts.
   */
  async adopt(): Promise<void> {
    for (const rec of listContainers()) {
      if (rec.status === "restarting") {
        // Its kernel objects may be left from before (a crash between recording
        // the exit and releasing them, or a reboot): released, then restarted.
        await releaseResources(rec.id, ["dir", "volume"]).catch((e) =>
          console.error(`tsbox supervisor: release ${rec.id.slice(0, 12)}: ${formatError(e)}`)
        );
        void this.restartLater(rec.id, rec.error === REBOOTED);
        continue;
      }
      if (!["running", "paused"].includes(rec.status)) continue;
      if (!processAlive(rec)) {
        await recordExit(rec.id, undefined, "its process ended while no tsbox process watched it")
          .catch(() => {});
        void this.restartLater(rec.id);
        continue;
      }
      const pidfd = sysRaw("pidfd_open", [rec.pid!, 0]);
      if (pidfd < 0) continue;
      const sources: { fd: number; stream: Stream }[] = [];
      try {
        const fifos = makeFifos(rec.id);
        sources.push({ fd: openFifoForReading(fifos.stdout), stream: "stdout" });
        sources.push({ fd: openFifoForReading(fifos.stderr), stream: "stderr" });
      } catch { /* a foreground container: no FIFOs */ }
      this.watch({
        id: rec.id,
        pid: rec.pid!,
        pidfd,
        child: false,
        log: new LogWriter(rec.id, logRotation(rec.config.log)),
        sources,
        attached: new Set(),
      });
    }
  }

  async serve(conn: Deno.Conn): Promise<void> {
    this.connections++;
    const pending = { buf: "" };
    // One write at a time: trace lines and the exit code come from other callbacks.
    let queue = Promise.resolve();
    const send = (r: Response) => (queue = queue.then(() => writeAll(conn, encode(r))));
    const detach: (() => void)[] = [];
    // First, before reading anything: the CLI then knows its request reached a
    // supervisor that will answer it (see SupervisorClient.next).
    void send({ hello: Deno.pid }).catch(() => {});
    try {
      for (;;) {
        const line = await readLine(conn, pending);
        if (line === undefined) break;
        let res: Response | undefined;
        try {
          const req = JSON.parse(line) as Request;
          if (req.op === "run") {
            await this.run(req, send);
            continue;
          }
          if (req.op === "attach") {
            const r = this.attach(req.id, send);
            if (typeof r === "function") detach.push(r);
            else await send(r);
            continue;
          }
          if (req.op === "console-taken") {
            for (const [id, fd] of this.consoles) (sysRaw("close", [fd]), this.consoles.delete(id));
            continue;
          }
          res = req.op === "start"
            ? await this.withFault(req.fault, () => this.start(req.id))
            : { ok: true, pid: Deno.pid, watching: this.watches.size };
          if (req.op === "start" && req.attach && "ok" in res && res.ok) {
            // No await since start() returned: no output can have been read yet.
            const r = this.attach(req.id, send);
            if (typeof r === "function") detach.push(r);
            else await send(r);
            continue;
          }
        } catch (e) {
          res = { ok: false, error: errorToWire(e), exitCode: exitCodeOf(e) };
        }
        await send(res);
      }
    } catch {
      /* client went away */
    } finally {
      detach.forEach((d) => d());
      this.connections--;
      this.lastActivity = Date.now();
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
}
