// The protocol between the tsbox CLI and the supervisor: one JSON object per
// line over the unix socket $TSBOX_RUNROOT/supervisor.sock.
//
//   CLI (run -d, start, restart)             supervisor (one per state root)
//   connect ───────────────────────────────▶ accept
//                          ◀─────────────── {"hello":PID}   first, before it reads anything:
//     a connection closed before hello was never served (a supervisor exiting
//     idle closed its listener): the CLI sends its request again, to a new one
//   {"op":"start","id":ID}  ───────────────▶ startCreated(): clone, setup, execve
//                          ◀─────────────── {"ok":true,"pid":PID}
//                          ◀─────────────── {"ok":false,"error":{...},"exitCode":127}
//   {"op":"run",...}       ───────────────▶ create, take the CLI's fds 0-2 (pidfd_getfd), start
//                          ◀─────────────── {"trace":"..."}*  {"ok":true,"id":ID,"pid":PID[,"console":FD]}
//                          ◀─────────────── {"ok":false,"error":{name,message,cause:{...}},"exitCode":N}
//   {"op":"run","detach":true,...} ───────▶ create, start with its log FIFOs: {"ok":true,"id":ID,"pid":PID}
//   [pidfd_getfd(console)] {"op":"console-taken"} ─▶ (the supervisor closes its copy)
//                          ◀─────────────── {"exit":CODE}   when the container has ended
//   {"op":"attach","id":ID} ──────────────▶ (a detached container it watches; or
//   {"op":"start","id":ID,"attach":true}      start it, attached from its first byte)
//                          ◀─────────────── {"ok":true,"id":ID,"pid":PID,"supervisor":PID[,"console":FD]}
//                          ◀─────────────── {"output":BASE64,"stream":"stdout"}*  {"exit":CODE}
//   [-t: pidfd_getfd(console), typed into; -i: writes to the stdin FIFO]
//   {"op":"ping"}          ───────────────▶
//                          ◀─────────────── {"ok":true,"pid":SUPERVISOR PID,"watching":N}
//
// Everything else (stop, kill, rm, exec, pause) the CLI does itself with
// pidfds and cgroups; the supervisor notices exits on the container's pidfd,
// records them, applies the restart policy and cleans up.

import { errorFromWire, TsboxError, type WireError } from "../errors.ts";
import type { RunOptions } from "../spec/run_options.ts";

/**
 * `run`: the supervisor creates and starts the container, with the CLI's
 * stdio (foreground) or with its log FIFOs (`detach`).
 */
export interface RunRequest {
  op: "run";
  /** Checked by the CLI (checkRunOptions), with paths absolute and `-e NAME` values filled in. */
  options: RunOptions;
  /** `run -d`: answer once it runs; its output goes to its log. */
  detach?: boolean;
  /** The CLI's pid: the supervisor takes its fds 0, 1, 2 with pidfd_getfd(2). */
  clientPid: number;
  /** Send trace lines (--trace). */
  trace: boolean;
  /** TSBOX_FAULT of the CLI, for crash tests. */
  fault?: string;
}

/** A request from the CLI. */
export type Request =
  /** attach: stream to this connection from the first byte, as `attach` does (`start -a`). */
  | { op: "start"; id: string; fault?: string; attach?: boolean }
  | { op: "ping" }
  | { op: "attach"; id: string }
  | RunRequest
  | { op: "console-taken" };

/** The answer to a request. */
export type Answer =
  | {
    ok: true;
    pid?: number;
    watching?: number;
    id?: string;
    console?: number;
    supervisor?: number;
  }
  /** The error's whole chain (src/errors.ts WireError); `answerError` rebuilds it. */
  | { ok: false; error: WireError; exitCode: number };

/** A message from the supervisor. */
export type Response =
  | Answer
  /** The first message of every connection: the supervisor will read and answer. */
  | { hello: number }
  /** A --trace line, before the answer and after it. */
  | { trace: string }
  /** Output of an attached container, base64. */
  | { output: string; stream: "stdout" | "stderr" }
  /** The end of a foreground or attached container: its exit code. */
  | { exit: number };

/** The error an answer carries, rebuilt with its chain and exit code. */
export function answerError(a: Extract<Answer, { ok: false }>): Error {
  const e = errorFromWire(a.error);
  return e instanceof TsboxError ? e : new TsboxError("", { cause: e, exitCode: a.exitCode });
}

/** Encodes a message as one line. */
export function encode(msg: Request | Response): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(msg) + "\n");
}

/** Reads one line from a connection; undefined at EOF. */
export async function readLine(
  conn: Deno.Conn,
  pending: { buf: string; dec?: TextDecoder },
): Promise<string | undefined> {
  // One decoder per connection: a character split between two reads stays whole.
  const dec = pending.dec ??= new TextDecoder();
  const chunk = new Uint8Array(65536);
  // Only new text is searched for the newline: a megabyte-long line costs one pass.
  let parts: string[] = [];
  let nl = pending.buf.indexOf("\n");
  while (nl < 0) {
    const n = await conn.read(chunk);
    if (n === null) {
      if (parts.length) pending.buf += parts.join("");
      return undefined;
    }
    const text = dec.decode(chunk.subarray(0, n), { stream: true });
    const at = text.indexOf("\n");
    if (at >= 0) {
      const before = pending.buf.length + parts.reduce((a, p) => a + p.length, 0);
      pending.buf += parts.join("") + text;
      parts = [];
      nl = before + at;
    } else parts.push(text);
  }
  const line = pending.buf.slice(0, nl);
  pending.buf = pending.buf.slice(nl + 1);
  return line;
}

/** Base64 of bytes (output chunks travel in JSON lines). */
export function encodeBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** The bytes of `encodeBase64`'s output. */
export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
