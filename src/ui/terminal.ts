// The terminal of the container page: a WebSocket carrying a pty of `exec
// -it` (src/container/terminal.ts). Binary frames are the terminal's bytes
// both ways; text frames from the page are JSON controls
// ({"resize":[rows,cols]}); when the program exits the page gets
// {"exit":CODE} and the socket closes. Closing the page kills the program.

import { formatError } from "../errors.ts";
import { openTerminal } from "../container/terminal.ts";

/** Upgrades `req` and runs a shell (or `command`) in container `ref` over it. */
export function terminalSocket(req: Request, ref: string, command: string[]): Response {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  const url = new URL(req.url);
  const rows = Number(url.searchParams.get("rows") ?? 24) || 24;
  const cols = Number(url.searchParams.get("cols") ?? 80) || 80;
  socket.onopen = () => {
    let term: ReturnType<typeof openTerminal>;
    try {
      term = openTerminal(ref, command, rows, cols);
    } catch (e) {
      socket.send(JSON.stringify({ error: formatError(e) }));
      socket.close(1011, "exec failed");
      return;
    }
    socket.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        try {
          const m = JSON.parse(ev.data) as { resize?: [number, number] };
          if (m.resize) term.resize(m.resize[0], m.resize[1]);
        } catch { /* not a control message */ }
        return;
      }
      void term.write(new Uint8Array(ev.data as ArrayBuffer));
    };
    socket.onclose = () => term.close();
    (async () => {
      for await (const chunk of term.output()) {
        if (socket.readyState !== WebSocket.OPEN) break;
        socket.send(chunk);
      }
      const code = await term.exit;
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ exit: code }));
        socket.close(1000, "exited");
      }
    })().catch(() => {});
  };
  return response;
}
