// The funnel for every syscall tsbox makes from its own process: `sys()` calls
// the kernel through the raw-syscall stub (ffi/<arch>/trampoline.S), which
// returns -errno in the result. No thread-local errno is read, so the answer
// is right even for calls Deno runs on another thread (`sysAsync`).
// A failure throws SyscallError naming the syscall, the errno name and the
// argument that matters (path, fd, flags), plus a hint for misleading cases.

import { describeErrno, errnoName } from "./errno.ts";
import { machineCode } from "./libc.ts";
import { addr, cstr } from "./mem.ts";
import { SYS, type SyscallName } from "./x86_64/syscalls.ts";
import { errnoHint } from "./hints.ts";

/** One syscall argument: an integer, a string (passed as a C string), a buffer (its address), or null. */
export type Arg = number | bigint | string | ArrayBufferView | null | undefined;

/** A failed syscall. `message` reads: `mount "proc" on "/x/proc": EPERM (Operation not permitted)`. */
export class SyscallError extends Error {
  override readonly name = "SyscallError";
  /** The syscall's name, e.g. "mount". */
  readonly syscall: string;
  /** The errno number. */
  readonly errno: number;
  /** What the call acted on, e.g. `"proc" on "/x/proc"`. */
  readonly detail: string;

  constructor(syscall: string, errno: number, detail: string) {
    const hint = errnoHint(syscall, errno, detail);
    super(
      `${syscall}${detail ? ` ${detail}` : ""}: ${describeErrno(errno)}${hint ? ` (${hint})` : ""}`,
    );
    this.syscall = syscall;
    this.errno = errno;
    this.detail = detail;
  }

  /** The errno's name, e.g. "EPERM". */
  get code(): string {
    return errnoName(this.errno);
  }
}

function convert(args: readonly Arg[], keep: unknown[]): (number | bigint)[] {
  return args.map((a) => {
    if (a === null || a === undefined) return 0;
    if (typeof a === "number" || typeof a === "bigint") return a;
    if (typeof a === "string") {
      const s = cstr(a);
      keep.push(s);
      return addr(s);
    }
    return addr(a);
  });
}

function autoDetail(args: readonly Arg[]): string {
  return args.filter((a) => typeof a === "string").map((a) => JSON.stringify(a)).join(" ");
}

function check(
  name: SyscallName,
  raw: number | bigint,
  args: readonly Arg[],
  detail?: string,
): number {
  const r = Number(raw);
  if (r < 0 && r >= -4095) throw new SyscallError(name, -r, detail ?? autoDetail(args));
  return r;
}

/**
 * Makes one syscall; returns its result or throws SyscallError.
 * Strings are passed as C strings, buffers by address; `detail` names what the
 * call acted on for the error message (default: the string arguments, quoted).
 *
 * @example
 * sys("mkdir", ["/run/tsbox", 0o700]);
 */
export function sys(name: SyscallName, args: readonly Arg[], detail?: string): number {
  const keep: unknown[] = [];
  const raw = machineCode().syscall(SYS[name], ...convert(args, keep));
  return check(name, raw, args, detail);
}

/** Like `sys`, returning -errno instead of throwing (for callers that branch on errno). */
export function sysRaw(name: SyscallName, args: readonly Arg[]): number {
  const keep: unknown[] = [];
  return Number(machineCode().syscall(SYS[name], ...convert(args, keep)));
}

/**
 * Like `sys`, but the call runs on a Deno worker thread, so a call that blocks
 * (waitid, read on a pipe) does not stop JavaScript. Buffers must not be
 * touched until the promise settles.
 */
export async function sysAsync(
  name: SyscallName,
  args: readonly Arg[],
  detail?: string,
): Promise<number> {
  const keep: unknown[] = [];
  const raw = await machineCode().syscallAsync(SYS[name], ...convert(args, keep));
  keep.length = 0;
  return check(name, raw, args, detail);
}

/** The syscall number of `name` on this architecture. */
export function syscallNumber(name: SyscallName): number {
  return SYS[name];
}
