// Errors of tsbox. Messages are lower-case fragments that chain with ": ",
// like runc and crun: `run web: mount "proc" on "/proc": EPERM (Operation not
// permitted)`. Wrap with `new TsboxError("what was being done", { cause })`;
// main.ts formats the chain once and picks the exit code.

/** Exit codes of the CLI, as Docker's. */
export const ExitCode = {
  /** tsbox itself failed (bad flag, unknown image, kernel error during setup). */
  TSBOX: 125,
  /** The command was found but could not be executed. */
  CANNOT_EXECUTE: 126,
  /** The command was not found. */
  NOT_FOUND: 127,
} as const;

/** An error of tsbox with an optional cause and exit code (default 125). */
export class TsboxError extends Error {
  override readonly name: string = "TsboxError";
  /** The exit code main.ts uses for this error. */
  readonly exitCode: number;

  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.exitCode = options.exitCode ?? innerExitCode(options.cause) ?? ExitCode.TSBOX;
  }
}

/** A request that is invalid in itself (bad flag, unknown name): nothing was changed. */
export class UsageError extends TsboxError {
  override readonly name: string = "UsageError";
}

/** A referenced object does not exist (container, image, network). */
export class NotFoundError extends TsboxError {
  override readonly name: string = "NotFoundError";
}

function innerExitCode(cause: unknown): number | undefined {
  return cause instanceof TsboxError ? cause.exitCode : undefined;
}

/** Joins the messages of `err` and its causes with ": ". */
export function formatError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null) {
    if (e instanceof Error) {
      const msg = e.message;
      if (msg && !parts.some((p) => p.endsWith(msg))) parts.push(msg);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(": ");
}

/** The exit code for `err`: its own when it is a TsboxError, otherwise 125. */
export function exitCodeOf(err: unknown): number {
  return err instanceof TsboxError ? err.exitCode : ExitCode.TSBOX;
}

/** Collects failures of a best-effort teardown and reports them all at once. */
export class ErrorList {
  readonly errors: unknown[] = [];

  /** Runs `fn`, recording a failure instead of throwing. */
  try(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.errors.push(new TsboxError(what, { cause: e }));
    }
  }

  /** The async form of `try`. */
  async tryAsync(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.errors.push(new TsboxError(what, { cause: e }));
    }
  }

  /** Throws one TsboxError listing every recorded failure, if any. */
  throwIfAny(what: string): void {
    if (this.errors.length === 0) return;
    if (this.errors.length === 1) throw new TsboxError(what, { cause: this.errors[0] });
    throw new TsboxError(
      `${what}: ${this.errors.length} failures: ${this.errors.map(formatError).join("; ")}`,
    );
  }
}

/**
 * The exit code of `docker run`/`create` for an error: 126 and 127 stay (the
 * command could not be executed or found), anything else is 125.
 */
export function runExitCode(code: number): number {
  return code === ExitCode.CANNOT_EXECUTE || code === ExitCode.NOT_FOUND ? code : ExitCode.TSBOX;
}

/**
 * An error as it crosses a process boundary (the supervisor's socket): the
 * chain of causes is kept, each with its kind, so the receiver rebuilds the
 * same chain (and the same exit code and message) instead of a flat string.
 */
export interface WireError {
  /** "TsboxError", "UsageError", "NotFoundError", "SyscallError" or another Error's name. */
  name: string;
  message: string;
  exitCode?: number;
  /** SyscallError: the syscall, errno number and what it acted on. */
  syscall?: string;
  errno?: number;
  detail?: string;
  cause?: WireError;
}

/** The wire form of `err` and its causes. */
export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const w: WireError = { name: err.name, message: err.message };
  if (err instanceof TsboxError) w.exitCode = err.exitCode;
  const sc = err as Error & { syscall?: unknown; errno?: unknown; detail?: unknown };
  if (typeof sc.syscall === "string" && typeof sc.errno === "number") {
    w.syscall = sc.syscall;
    w.errno = sc.errno;
    w.detail = typeof sc.detail === "string" ? sc.detail : "";
  }
  if (err.cause !== undefined) w.cause = errorToWire(err.cause);
  return w;
}

/** An error carrying a remote SyscallError's facts (ffi/ is below this module: no import). */
export class RemoteSyscallError extends Error {
  override readonly name = "SyscallError";
  constructor(
    message: string,
    readonly syscall: string,
    readonly errno: number,
    readonly detail: string,
  ) {
    super(message);
  }
}

/** Rebuilds an error chain from its wire form. */
export function errorFromWire(w: WireError): Error {
  const cause = w.cause ? errorFromWire(w.cause) : undefined;
  const opts = {
    ...(cause !== undefined ? { cause } : {}),
    ...(w.exitCode !== undefined ? { exitCode: w.exitCode } : {}),
  };
  switch (w.name) {
    case "UsageError":
      return new UsageError(w.message, opts);
    case "NotFoundError":
      return new NotFoundError(w.message, opts);
    case "TsboxError":
      return new TsboxError(w.message, opts);
    case "SyscallError":
      return new RemoteSyscallError(w.message, w.syscall ?? "", w.errno ?? 0, w.detail ?? "");
    default: {
      const e = new Error(w.message, cause !== undefined ? { cause } : {});
      e.name = w.name;
      return e;
    }
  }
}
