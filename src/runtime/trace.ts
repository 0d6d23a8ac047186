// `tsbox run --trace`: every step tsbox takes, in order, with its duration,
// on stderr. Parent steps are timed here; the child's steps come back as
// records from the interpreter (CLOCK_MONOTONIC, the same clock as here).
// The same steps are kept as records (lane, start, end, result, syscalls),
// which the start path saves beside the container (trace.json) for the
// waterfall of `tsbox ui`.

import { sys } from "../../ffi/syscall.ts";

const ts = new BigInt64Array(2);
/** CLOCK_MONOTONIC in nanoseconds (the clock the interpreter's trace records use). */
export function monotonicNs(): bigint {
  sys("clock_gettime", [1, ts]);
  return ts[0]! * 1_000_000_000n + ts[1]!;
}

/** One finished step, for the waterfall: times in ms since the tracer started. */
export interface TraceRecord {
  lane: "parent" | "child";
  text: string;
  startMs: number;
  endMs: number;
  result?: string;
  /** The system calls the step made (child steps: from the program's labels). */
  syscalls?: string[];
}

/**
 * The system calls (or netlink messages) behind a parent step, from its text
 * as the start path words it (executor.ts, staging.ts, cgroup.ts,
 * net/attach.ts); [] for steps that are tsbox's own bookkeeping. The child's
 * steps carry the exact list from their program's labels instead.
 */
const PARENT_SYSCALLS: [RegExp, string[]][] = [
  [/^create cgroup /, ["mkdir", "write"]],
  [/^place \d+ in cgroup /, ["write"]],
  [/^unshare a staging mount namespace/, ["unshare"]],
  [/^make every mount private|^make the root read-only|^mount |^bind /, ["mount"]],
  [/^create a user namespace for id-mapped layers/, ["clone3", "write"]],
  [/^idmap /, ["open_tree", "mount_setattr", "move_mount"]],
  [/^create \d+ device nodes/, ["mknod", "symlink"]],
  [/^write uid_map and gid_map/, ["write"]],
  [/^clone3 /, ["clone3"]],
  [/^release the child/, ["write"]],
  [/^net: join the network namespace/, ["setns"]],
  [/^net: host ports for/, ["socket", "bind"]],
  [/^net: \/etc\/hosts/, ["write"]],
  [/^net: bridge .* ready/, ["RTM_GETLINK", "RTM_NEWLINK", "NFT_MSG_NEWRULE"]],
  [/^net: veth /, ["RTM_NEWLINK"]],
  [/^net: eth0 /, ["RTM_SETLINK", "RTM_NEWADDR", "RTM_NEWROUTE"]],
  [/^net: \d+ published-port rule/, ["NFT_MSG_NEWRULE"]],
];

/** The syscalls behind a parent step's text (see PARENT_SYSCALLS). */
export function parentSyscalls(text: string): string[] {
  return PARENT_SYSCALLS.find(([re]) => re.test(text))?.[1] ?? [];
}

/** Receives trace lines; a disabled tracer costs one branch per step. */
export class Tracer {
  readonly enabled: boolean;
  readonly start: bigint;
  #last: bigint;
  readonly #write: (line: string) => void;
  #childEnd: bigint | undefined;
  /** Named points (e.g. "clone", "execve") and their times, for benchmarks. */
  readonly marks = new Map<string, bigint>();
  /** Every step printed so far. */
  readonly records: TraceRecord[] = [];

  constructor(enabled: boolean, write: (line: string) => void = (l) => console.error(l)) {
    this.enabled = enabled;
    this.start = enabled ? monotonicNs() : 0n;
    this.#last = this.start;
    this.#write = write;
  }

  /** Records a named point in time. */
  mark(name: string, at?: bigint): void {
    if (this.enabled) this.marks.set(name, at ?? monotonicNs());
  }

  /** Prints one finished step that ended at `end` (default now). */
  line(
    who: "parent" | "child",
    text: string,
    end?: bigint,
    result?: string,
    syscalls?: string[],
  ): void {
    if (!this.enabled) return;
    const t = end ?? monotonicNs();
    const ms = (n: bigint) => (Number(n) / 1e6).toFixed(3);
    // A child step began where the child's previous one ended (the first at the clone):
    // its lane runs beside the parent's, whose steps fill the time in between.
    const begin = who === "child"
      ? this.#childEnd ?? this.marks.get("clone") ?? this.#last
      : this.#last;
    if (who === "child") this.#childEnd = t;
    const calls = syscalls ?? (who === "parent" ? parentSyscalls(text) : []);
    this.records.push({
      lane: who,
      text,
      startMs: Number((begin < t ? begin : t) - this.start) / 1e6,
      endMs: Number(t - this.start) / 1e6,
      ...(result === undefined ? {} : { result }),
      ...(calls.length ? { syscalls: calls } : {}),
    });
    this.#write(
      `trace ${ms(t - this.start).padStart(8)} ms  +${ms(t - this.#last).padStart(7)}  ${
        who.padEnd(6)
      } ${text}${result === undefined ? "" : ` = ${result}`}`,
    );
    this.#last = t;
  }

  /** Runs `fn` as a parent step named `text`. */
  run<T>(text: string, fn: () => T): T {
    if (!this.enabled) return fn();
    const r = fn();
    this.line("parent", text);
    return r;
  }

  /** Runs async `fn` as a parent step named `text`. */
  async runAsync<T>(text: string, fn: () => Promise<T>): Promise<T> {
    if (!this.enabled) return await fn();
    const r = await fn();
    this.line("parent", text);
    return r;
  }

  /** Resets the "since last" clock (before a wait that is not a step). */
  sync(at?: bigint): void {
    if (this.enabled) this.#last = at ?? monotonicNs();
  }
}

/** A tracer that prints nothing. */
export const NO_TRACE: Tracer = new Tracer(false);
