// The protocol between the tsbox CLI and the supervisor: one JSON object per
// line over the unix socket $TSBOX_RUNROOT/supervisor.sock.
//
//   CLI (run -d, start, restart)             supervisor (one per state root)
//   connect ───────────────────────────────▶ accept
//   {"op":"start","id":ID}  ───────────────▶ startCreated(): clone, setup, execve
//                          ◀─────────────── {"ok":true,"pid":PID}
//                          ◀─────────────── {"ok":false,"error":"...","exitCode":127}
//   {"op":"ping"}          ───────────────▶
//                          ◀─────────────── {"ok":true,"pid":SUPERVISOR PID,"watching":N}
//
// Everything else (stop, kill, rm, exec, pause) the CLI does itself with
// pidfds and cgroups; the supervisor notices exits on the container's pidfd,
// records them, applies the restart policy and cleans up.

/** A request from the CLI. */
export type Request = { op: "start"; id: string } | { op: "ping" };

/** The supervisor's answer. */
export type Response =
  | { ok: true; pid?: number; watching?: number }
  | { ok: false; error: string; exitCode: number };

/** Encodes a message as one line. */
export function encode(msg: Request | Response): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(msg) + "\n");
}

/** Reads one line from a connection; undefined at EOF. */
export async function readLine(
  conn: Deno.Conn,
  pending: { buf: string },
): Promise<string | undefined> {
  const dec = new TextDecoder();
  const chunk = new Uint8Array(4096);
  for (;;) {
    const nl = pending.buf.indexOf("\n");
    if (nl >= 0) {
      const line = pending.buf.slice(0, nl);
      pending.buf = pending.buf.slice(nl + 1);
      return line;
    }
    const n = await conn.read(chunk);
    if (n === null) return undefined;
    pending.buf += dec.decode(chunk.subarray(0, n), { stream: true });
  }
}
