// Noticing a reboot. The run root ($TSBOX_RUNROOT, /run/tsbox by default)
// lives on tmpfs and is empty after a reboot; tsbox keeps a marker there. When
// the marker is missing (or names another boot), containers whose process is
// gone were stopped by the reboot: they are recorded as exited (255, as
// Docker shows them), and their address leases are freed; those whose restart
// policy says so (always, unless-stopped) are marked "restarting", which the
// next supervisor does at once (Docker restarts them when its daemon starts).
// A container whose process still runs stays running: that is the truth.

import { runRoot } from "../paths.ts";
import type { State } from "./db.ts";

function readOr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number | null, start: string | null): boolean {
  if (!pid) return false;
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return false;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[0] !== "Z" && (start === null || fields[19] === start);
}

/** The error of a container the reboot stopped (its restart, if due, is done at once). */
export const REBOOTED = "the host rebooted (tsbox runtime state was cleared)";

/**
 * Whether a container the reboot stopped starts again, as Docker's daemon
 * does when it starts: `always` (even if a user had stopped it),
 * `unless-stopped` unless a user had stopped it.
 */
export function restartsAfterReboot(restart: string | undefined, stopRequested: boolean): boolean {
  const name = (restart ?? "no").split(":")[0];
  return name === "always" || (name === "unless-stopped" && !stopRequested);
}

/**
 * Runs once per tsbox process, right after the state is opened. Returns
 * whether restarts are now due (a supervisor must run to do them).
 */
export function checkBoot(st: State): boolean {
  const marker = `${runRoot()}/boot-id`;
  const boot = readOr("/proc/sys/kernel/random/boot_id") ?? "";
  if (readOr(marker) === boot) return false;
  let due = false;
  st.tx(() => {
    const rows = st.all<
      {
        id: string;
        pid: number | null;
        pid_start: string | null;
        status: string;
        stop_requested: number;
        config: string;
      }
    >(
      "SELECT id, pid, pid_start, status, stop_requested, config FROM containers WHERE status IN ('running','paused','restarting','exited','dead') OR pid IS NOT NULL",
    );
    for (const r of rows) {
      if (alive(r.pid, r.pid_start)) continue;
      const wasUp = ["running", "paused", "restarting"].includes(r.status) || r.pid !== null;
      let restart: string | undefined;
      try {
        restart = (JSON.parse(r.config) as { restart?: { name?: string } }).restart?.name;
      } catch { /* unreadable configuration: no policy */ }
      const stopped = r.stop_requested === 1 || !wasUp;
      if (r.status !== "created" && restartsAfterReboot(restart, stopped)) {
        if (!wasUp && (restart ?? "").split(":")[0] !== "always") continue;
        st.run(
          `UPDATE containers SET status = 'restarting', stop_requested = 0, pid = NULL,
           exit_code = CASE WHEN status IN ('exited','dead') THEN exit_code ELSE 255 END,
           finished_at = coalesce(finished_at, ?), error = ? WHERE id = ?`,
          new Date().toISOString(),
          REBOOTED,
          r.id,
        );
        due = true;
      } else if (wasUp) {
        st.run(
          `UPDATE containers SET status = CASE WHEN status = 'created' THEN 'created' ELSE 'exited' END,
           exit_code = CASE WHEN status = 'created' THEN exit_code ELSE 255 END, pid = NULL,
           finished_at = coalesce(finished_at, ?), error = ? WHERE id = ?`,
          new Date().toISOString(),
          REBOOTED,
          r.id,
        );
      } else continue;
      st.run("DELETE FROM leases WHERE container_id = ?", r.id);
    }
  });
  Deno.mkdirSync(runRoot(), { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(marker, `${boot}\n`, { mode: 0o600 });
  return due;
}
