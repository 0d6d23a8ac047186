// OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): programs the
// runtime runs at points of a container's lifecycle, each with the
// container's state JSON on its stdin, its own argv (args[0] is argv[0]) and
// exactly its own env, killed after `timeout` seconds.
//
//   prestart, createRuntime   after the namespaces exist, before pivot_root,
//                             in the runtime's namespaces
//   createContainer           before pivot_root, in the container's namespaces
//                             (the mount namespace still shows the host's
//                             files, so the path resolves as the spec says)
//   startContainer            after `start`, before the user's process, in the
//                             container's namespaces (the path resolves there)
//   poststart, poststop       in the runtime's namespaces
//
// A hook is started the way a container process is: by a syscall program
// (ffi/program.ts) in a clone of this process, since no JavaScript may run
// there. For createContainer the program first joins the container's
// namespaces through the init's pidfd (setns(2), Linux 5.8), all but the
// PID namespace (joining one changes only the namespace of later children,
// pid_namespaces(7)).

import { O } from "../../ffi/constants.ts";
import { decodeRecords, encodeProgram, ERROR_RECORD_SIZE } from "../../ffi/program.ts";
import { spawn } from "../../ffi/spawn.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";
import type { Hook } from "../spec/types.ts";
import { childError } from "./executor.ts";
import { lower } from "./lower.ts";
import type { NamespaceKind } from "./namespaces.ts";
import { killAndReap, waitPidfd } from "./process.ts";
import type { Step } from "./steps.ts";

/** The container the hooks are about. */
export interface HookTarget {
  /** runtime-spec state JSON (ociVersion, id, status, pid, bundle, annotations). */
  state: Record<string, unknown>;
  /** Join these namespaces of the init (createContainer); absent: the runtime's namespaces. */
  join?: { pid: number; pidfd: number; namespaces: NamespaceKind["oci"][] };
}

const q = JSON.stringify;

function pipe(): [number, number] {
  const p = new Int32Array(2);
  sys("pipe2", [p, O.CLOEXEC]);
  return [p[0]!, p[1]!];
}

/** Runs one hook to its end; throws TsboxError when it fails, is killed, or times out. */
export async function runHook(kind: string, hook: Hook, target: HookTarget): Promise<void> {
  const [inR, inW] = pipe();
  const [errR, errW] = pipe();
  const steps: Step[] = [];
  const join = target.join?.namespaces.filter((n) => n !== "pid") ?? [];
  if (target.join && join.length) {
    steps.push({
      op: "join",
      pidfd: target.join.pidfd,
      namespaces: join,
      pid: target.join.pid,
    });
  }
  steps.push(
    { op: "dup2", from: inR, to: 0 },
    { op: "cloexec-from", from: 3 },
    { op: "reset-signals" },
    {
      op: "exec",
      candidates: [hook.path],
      argv: hook.args?.length ? hook.args : [hook.path],
      env: hook.env ?? [],
    },
  );
  const { builder, labels } = lower(steps);
  const program = encodeProgram(builder.ops, errW, -1);
  let child: { pid: number; pidfd: number } | undefined;
  try {
    child = spawn({ program, flags: 0n });
  } finally {
    sysRaw("close", [inR]);
    sysRaw("close", [errW]);
  }
  const what = `${kind} hook ${q(hook.path)}`;
  let inWOpen = true;
  try {
    // EOF: execve succeeded; a record: a step failed.
    const buf = new Uint8Array(ERROR_RECORD_SIZE);
    const n = sys("read", [errR, buf, buf.length]);
    if (n > 0) {
      const rec = decodeRecords(buf.subarray(0, n), ERROR_RECORD_SIZE)[0]!;
      throw new TsboxError(what, { cause: childError(steps, labels, rec.index, rec.result) });
    }
    // The hook may not read its stdin: a closed pipe is not our failure.
    const bytes = new TextEncoder().encode(JSON.stringify(target.state));
    for (let off = 0; off < bytes.length;) {
      const w = sysRaw("write", [inW, bytes.subarray(off), bytes.length - off]);
      if (w <= 0) break;
      off += w;
    }
    sysRaw("close", [inW]);
    inWOpen = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const pidfd = child.pidfd;
    if (hook.timeout !== undefined && hook.timeout > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        sysRaw("pidfd_send_signal", [pidfd, 9, null, 0]);
      }, hook.timeout * 1000);
    }
    const status = await waitPidfd(pidfd).finally(() => clearTimeout(timer));
    child = undefined;
    sysRaw("close", [pidfd]);
    if (timedOut) throw new TsboxError(`${what}: timed out after ${hook.timeout} s`);
    if (status.signal !== undefined) {
      throw new TsboxError(`${what}: killed by signal ${status.signal}`);
    }
    if (status.code !== 0) throw new TsboxError(`${what}: exit status ${status.code}`);
  } finally {
    sysRaw("close", [errR]);
    if (inWOpen) sysRaw("close", [inW]);
    if (child) {
      killAndReap(child.pidfd);
      sysRaw("close", [child.pidfd]);
    }
  }
}

/** Runs `hooks` in order; the first failure stops the rest and is thrown. */
export async function runHooks(
  kind: string,
  hooks: readonly Hook[] | undefined,
  target: HookTarget,
): Promise<void> {
  for (const h of hooks ?? []) await runHook(kind, h, target);
}
