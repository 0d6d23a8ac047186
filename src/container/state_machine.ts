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
// The OCI runtime front end (src/container/oci/) observes the same states
// from the kernel (the init's pid, the exec fifo, the freezer), shows them
// in runtime-spec terms (ociStatus: creating, created, running, paused,
// stopped) and asks `checkOciTransition`, whose table holds runc's rules
// and words. A created container whose process exists and waits for its
// start is "starting" in both tables: for Docker the short moment of a
// start, for the OCI runtime everything between `create` and `start`.

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

/** A state, with "created" split by whether its process exists (waiting to be started). */
export type Phase = Status | "starting";

/** The phase of `rec`: "starting" for a created container that has a process. */
export function phaseOf(rec: Pick<ContainerRecord, "status" | "pid">): Phase {
  return rec.status === "created" && rec.pid !== null ? "starting" : rec.status;
}

/**
 * The OCI runtime's operations (runc's libcontainer rules), and the phases
 * each is allowed from. `delete` is without --force; ps, events and state
 * are allowed in every phase.
 */
const OCI_ALLOWED = {
  start: ["starting"],
  kill: ["starting", "running", "paused"],
  delete: ["created", "starting", "exited", "dead"],
  exec: ["starting", "running"],
  pause: ["starting", "running"],
  resume: ["paused"],
  update: ["created", "starting", "running", "paused"],
} satisfies Record<string, Phase[]>;

/** An operation of the OCI runtime front end. */
export type OciOperation = keyof typeof OCI_ALLOWED;

/** runc's message for `op` refused in `rec`'s state (containerd and Podman match some of them). */
function ociRefusal(op: OciOperation, rec: Pick<ContainerRecord, "status" | "pid" | "name">) {
  const status = ociStatus(rec);
  switch (op) {
    case "start":
      return status === "stopped"
        ? "cannot start a container that has stopped"
        : `cannot start an already ${status} container`;
    case "kill":
      return "container not running";
    case "delete":
      return `cannot delete container ${rec.name} that is not stopped: ${status}`;
    case "exec":
      return `cannot exec in a ${status === "paused" ? "paused" : "stopped"} container`;
    case "pause":
      return `container not running or created: ${status}`;
    case "resume":
      return "container not paused";
    case "update":
      return `cannot update a ${status} container`;
  }
}

/** Whether the OCI operation `op` is allowed in `rec`'s state. */
export function ociAllowed(
  op: OciOperation,
  rec: Pick<ContainerRecord, "status" | "pid">,
): boolean {
  return (OCI_ALLOWED[op] as readonly Phase[]).includes(phaseOf(rec));
}

/** Throws (exit 1, as runc) unless the OCI operation `op` is allowed in `rec`'s state. */
export function checkOciTransition(
  op: OciOperation,
  rec: Pick<ContainerRecord, "status" | "pid" | "name">,
): void {
  if (!ociAllowed(op, rec)) throw new TsboxError(ociRefusal(op, rec), { exitCode: 1 });
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
