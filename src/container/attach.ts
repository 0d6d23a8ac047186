// `tsbox attach`: stream a running container's new output (from its log),
// forward our signals to it, and return its exit code when it stops.

import { SIGNALS } from "../../ffi/constants.ts";
import { TsboxError } from "../errors.ts";
import { findContainer, getContainer } from "../state/containers.ts";
import { lastExitCode } from "../state/events.ts";
import { logPath, parseLog } from "../supervisor/logs.ts";
import { signalContainer } from "./signal.ts";
import { reconcile } from "./status.ts";

const enc = new TextEncoder();

/** Attaches to container `ref`; returns its exit code. */
export async function attachContainer(ref: string, sigProxy: boolean): Promise<number> {
  const rec = reconcile(findContainer(ref));
  if (rec.status !== "running" && rec.status !== "paused") {
    throw new TsboxError("you cannot attach to a stopped container, start it first", {
      exitCode: 1,
    });
  }
  const path = logPath(rec.id);
  let offset = 0;
  try {
    offset = Deno.statSync(path).size;
  } catch { /* no output yet */ }
  const names: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
  const handlers = sigProxy
    ? names.map((n) => {
      const fn = () => signalContainer(rec, SIGNALS[n]!);
      Deno.addSignalListener(n, fn);
      return () => Deno.removeSignalListener(n, fn);
    })
    : [];
  try {
    for (;;) {
      try {
        const f = Deno.openSync(path);
        try {
          const size = f.statSync().size;
          if (size > offset) {
            f.seekSync(offset, Deno.SeekMode.Start);
            const buf = new Uint8Array(size - offset);
            let got = 0;
            while (got < buf.length) got += f.readSync(buf.subarray(got)) ?? buf.length;
            const text = new TextDecoder().decode(buf);
            const cut = text.lastIndexOf("\n") + 1;
            offset += enc.encode(text.slice(0, cut)).length;
            for (const l of parseLog(text.slice(0, cut))) {
              (l.stream === "stderr" ? Deno.stderr : Deno.stdout).writeSync(enc.encode(l.log));
            }
          }
        } finally {
          f.close();
        }
      } catch { /* no log yet */ }
      const now = getContainer(rec.id);
      if (!now) return lastExitCode(rec.id) ?? rec.exitCode ?? 0;
      const st = reconcile(now);
      if (st.status !== "running" && st.status !== "paused") return st.exitCode ?? 0;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    handlers.forEach((off) => off());
  }
}
