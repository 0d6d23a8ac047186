// Fault injection for the crash-safety tests: with TSBOX_FAULT=<point>, the
// tsbox process doing the work (the CLI, or the supervisor for a `run`) kills
// itself with SIGKILL when it reaches that point, as a power cut or `kill -9`
// would. Points: after-state, after-cgroup,
// after-mounts, after-network, before-start (see src/container/start.ts and
// src/runtime/executor.ts). Unset, this costs one environment lookup.

import { SIGKILL } from "../ffi/constants.ts";
import { sys } from "../ffi/syscall.ts";

let fault = Deno.env.get("TSBOX_FAULT");

/** Dies here if TSBOX_FAULT names this point. */
export function faultPoint(name: string): void {
  if (fault === name) sys("kill", [Deno.pid, SIGKILL]);
}

/** Sets the point for the work of one request (the supervisor doing a CLI's `run`). */
export function setFault(point: string | undefined): void {
  fault = point;
}
