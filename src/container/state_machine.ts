// The lifecycle of a container as one table, as runc's state machine
// (libcontainer/state_linux.go). Every verb asks `checkTransition` before
// it changes anything, so a request the state does not allow fails first,
// with one message per case: "cannot pause web: container is not running".
//
//   created ──start──▶ running ──pause──▶ paused
//      │                │   ▲               │
//      │                │   └───unpause─────┘
//      │           exit/stop/kill       (restart policy)
//      ▼                ▼                   │
//    (rm) ◀──────── exited/dead ◀── restarting ──start──▶ running
//
// "removing" is the short state of `rm -f` killing a running container.
// The OCI runtime front end shows the same states in runtime-spec terms
// (ociStatus: created, running, paused, stopped).

import { TsboxError } from "../errors.ts";
import type { ContainerRecord, Status } from "../state/containers.ts";

export type { Status };

/** States in which the container's process exists (or is about to, restarting). */
export const ACTIVE: readonly Status[] = ["running", "paused", "restarting"];

/** Whether `rec` has (or is about to have) a process: active, or created with a pid (starting). */
export function isActive(rec: Pick<ContainerRecord, "status" | "pid">): boolean {
  return ACTIVE.includes(rec.status) || (rec.status === "created" && rec.pid !== null);
}

/** Whether the container's first process runs (running or paused). */
export function hasProcess(rec: Pick<ContainerRecord, "status" | "pid">): boolean {
  return (rec.status === "running" || rec.status === "paused") && rec.pid !== null;
}

/** The operations, and the states each is allowed from. */
const ALLOWED = {
  start: ["created", "exited", "dead"],
  stop: ["running", "paused", "restarting"],
  kill: ["running", "paused"],
  pause: ["running"],
  unpause: ["paused"],
  exec: ["running"],
  attach: ["running"],
  top: ["running", "paused"],
  update: ["created", "running", "paused", "exited", "dead"],
  /** Removing without --force. */
  remove: ["created", "exited", "dead"],
} satisfies Record<string, Status[]>;

/** An operation of the state machine. */
export type Operation = keyof typeof ALLOWED;

function describe(status: Status): string {
  return status === "exited" || status === "created" || status === "dead" ? "not running" : status;
}

/** The message for `op` refused in `rec`'s state, Docker's words where Docker has them. */
function refusal(op: Operation, rec: ContainerRecord): string {
  switch (op) {
    case "exec":
      return rec.status === "paused"
        ? `container ${rec.name} is paused, unpause the container before exec`
        : `container ${rec.name} is not running`;
    case "attach":
      return rec.status === "paused"
        ? "you cannot attach to a paused container, unpause it first"
        : "you cannot attach to a stopped container, start it first";
    case "top":
      return `container ${rec.name} is not running`;
    case "remove":
      return `cannot remove container "${rec.name}": container is ${rec.status}: stop the container before removing or force remove`;
    default:
      return `cannot ${op} ${rec.name}: container is ${describe(rec.status)}`;
  }
}

/** Whether `op` is allowed in `rec`'s state. */
export function allowed(op: Operation, rec: Pick<ContainerRecord, "status" | "pid">): boolean {
  if (op === "remove" && rec.status === "created" && rec.pid !== null) return false;
  return (ALLOWED[op] as readonly Status[]).includes(rec.status);
}

/** Throws (exit 1, as Docker) unless `op` is allowed in `rec`'s state. Changes nothing. */
export function checkTransition(op: Operation, rec: ContainerRecord): void {
  if (!allowed(op, rec)) throw new TsboxError(refusal(op, rec), { exitCode: 1 });
}

/** The state as the OCI runtime spec names it (runtime.md "State"). */
export function ociStatus(
  rec: Pick<ContainerRecord, "status" | "pid">,
): "creating" | "created" | "running" | "paused" | "stopped" {
  switch (rec.status) {
    case "created":
      return rec.pid !== null ? "created" : "creating";
    case "running":
    case "restarting":
      return "running";
    case "paused":
      return "paused";
    default:
      return "stopped";
  }
}
