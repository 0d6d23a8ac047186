// Noticing a reboot. The run root ($TSBOX_RUNROOT, /run/tsbox by default)
// lives on tmpfs and is empty after a reboot; tsbox keeps a marker there. When
// the marker is missing (or names another boot), containers whose process is
// gone were stopped by the reboot: they are recorded as exited (255, as
// Docker shows them), and their address leases are freed. A container whose
// process still runs stays running: that is the truth.

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

/** Runs once per tsbox process, right after the state is opened. */
export function checkBoot(st: State): void {
  const marker = `${runRoot()}/boot-id`;
  const boot = readOr("/proc/sys/kernel/random/boot_id") ?? "";
  if (readOr(marker) === boot) return;
  st.tx(() => {
    const rows = st.all<{ id: string; pid: number | null; pid_start: string | null }>(
      "SELECT id, pid, pid_start FROM containers WHERE status IN ('running','paused','restarting') OR pid IS NOT NULL",
    );
    for (const r of rows) {
      if (alive(r.pid, r.pid_start)) continue;
      st.run(
        `UPDATE containers SET status = CASE WHEN status = 'created' THEN 'created' ELSE 'exited' END,
         exit_code = CASE WHEN status = 'created' THEN exit_code ELSE 255 END, pid = NULL,
         finished_at = coalesce(finished_at, ?), error = 'the host rebooted (tsbox runtime state was cleared)' WHERE id = ?`,
        new Date().toISOString(),
        r.id,
      );
      st.run("DELETE FROM leases WHERE container_id = ?", r.id);
    }
  });
  Deno.mkdirSync(runRoot(), { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(marker, `${boot}\n`, { mode: 0o600 });
}
