// tsbox-runc's log: the file named by the global --log, in runc's two formats.
// containerd's runc shim and Podman's conmon read it after a failed command:
// with --log-format json, the last line whose "level" is "error" carries the
// message they show ({"level":"error","msg":"...","time":"..."}, logrus's JSON).
// Without --log, messages go to stderr only.

import type { OciContext } from "../../container/oci/store.ts";

/** Global options every verb receives. */
export interface GlobalOptions {
  /** State directory (--root). */
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  /** --systemd-cgroup: cgroupsPath is "slice:prefix:name". */
  systemdCgroup: boolean;
  /** --rootless: accepted; tsbox-runc needs root (auto and false are the same). */
  rootless: string;
  /** --trace: each step of create/run with its duration, on stderr. */
  trace?: boolean;
}

/** The engine's view of the global options: the store and the log. */
export function ociContext(g: GlobalOptions): OciContext {
  return { root: g.root, log: (level, msg) => logLine(g, level, msg) };
}

/** Formats one log line. */
export function formatLogLine(
  format: "text" | "json",
  level: "debug" | "info" | "warning" | "error",
  msg: string,
  time = new Date(),
): string {
  const t = time.toISOString();
  if (format === "json") return JSON.stringify({ level, msg, time: t });
  return `time=${JSON.stringify(t)} level=${level} msg=${JSON.stringify(msg)}`;
}

/** Appends a line to the --log file (if any); never throws (logging must not hide the error). */
export function logLine(
  g: Pick<GlobalOptions, "log" | "logFormat" | "debug">,
  level: "debug" | "info" | "warning" | "error",
  msg: string,
): void {
  if (level === "debug" && !g.debug) return;
  if (!g.log) {
    if (level === "debug") console.error(msg);
    return;
  }
  try {
    Deno.writeTextFileSync(g.log, formatLogLine(g.logFormat, level, msg) + "\n", {
      append: true,
      create: true,
    });
  } catch { /* the caller still sees the error on stderr */ }
}
