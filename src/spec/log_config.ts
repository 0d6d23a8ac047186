// A container's logging: Docker's `--log-driver` and `--log-opt`, with the
// host's defaults from tsbox.json (src/config.ts: logDriver, logOpts), turned
// into the LogConfig a container is created with (src/spec/config.ts; stored
// with it, as Docker stores HostConfig.LogConfig). Pure: the supervisor's
// LogWriter (src/supervisor/logs.ts) reads it through logRotation, and
// `tsbox logs` (src/container/logs.ts) refuses to read a `none` log.
//
//   json-file  Docker's format, one JSON object per line; rotation by
//              max-size / max-file (Docker's default: no rotation; tsbox's
//              built-in default: 20m x 5, see DEFAULT_ROTATION)
//   local      the same records with local's defaults (max-size 20m,
//              max-file 5); Docker's compression is not done
//   none       no log file; `tsbox logs` says it cannot read one
//
// Options as Docker's json-file driver names them: max-size (a size with k,
// m or g, binary units, or -1 for none), max-file (a count, at least 1,
// only with max-size). Any other option is refused by name, as Docker does.
// The stored options are normalized: max-size in bytes, max-file a count.

import { UsageError } from "../errors.ts";
import type { LogConfig } from "./config.ts";

/** The drivers tsbox has. */
export const LOG_DRIVERS = ["json-file", "local", "none"] as const;

/** What the log writer does with a container's output. */
export interface LogRotation {
  driver: (typeof LOG_DRIVERS)[number];
  /** Rotate the log file before it grows past this many bytes; undefined: never. */
  maxSize?: number;
  /** Files kept, the current one included (1: the log is cut, nothing kept). */
  maxFile: number;
}

/** Rotation when neither the command nor tsbox.json says: Docker's `local` defaults, 100 MB at most. */
export const DEFAULT_ROTATION = { "max-size": "20m", "max-file": "5" } as const;

const UNITS: Record<string, number> = { "": 0, k: 1, m: 2, g: 3 };

/** A log size as Docker reads max-size (go-units RAMInBytes, 1k = 1024). Throws UsageError. */
export function parseLogSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG])?[iI]?[bB]?$/.exec(v);
  const n = m ? Math.floor(Number(m[1]) * 1024 ** UNITS[(m[2] ?? "").toLowerCase()]!) : NaN;
  if (!m || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(
      `invalid value for log opt max-size: ${JSON.stringify(v)}: expected a size such as 10m`,
    );
  }
  return n;
}

/** Parses "KEY=VALUE" log options; throws UsageError naming a bad one. */
function parseOpts(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list) {
    const eq = o.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(`invalid log opt ${JSON.stringify(o)}: expected KEY=VALUE`);
    }
    out[o.slice(0, eq)] = o.slice(eq + 1);
  }
  return out;
}

/**
 * The LogConfig of a new container: `driver` and `opts` as given on the
 * command line (undefined / []: not given), else the host's defaults, else
 * json-file with DEFAULT_ROTATION. An option given replaces the same option
 * of the host's (the host's options apply to the host's driver only).
 * Throws UsageError; no side effect.
 *
 * @example resolveLogConfig("json-file", ["max-size=10m", "max-file=3"], {})
 * // { driver: "json-file", opts: { "max-size": "10485760", "max-file": "3" } }
 */
export function resolveLogConfig(
  driver: string | undefined,
  opts: readonly string[],
  host: { logDriver?: string; logOpts?: Record<string, string> },
): LogConfig {
  const name = driver ?? host.logDriver ?? "json-file";
  if (!(LOG_DRIVERS as readonly string[]).includes(name)) {
    throw new UsageError(
      `no log driver named ${JSON.stringify(name)} (tsbox has ${LOG_DRIVERS.join(", ")})`,
    );
  }
  const given = parseOpts(opts);
  const known = name === "none" ? [] : ["max-size", "max-file"];
  for (const k of Object.keys(given)) {
    if (!known.includes(k)) {
      throw new UsageError(`unknown log opt ${JSON.stringify(k)} for ${name} log driver`);
    }
  }
  if (name === "none") return { driver: "none", opts: {} };
  // The host's options are for the host's driver; without any, DEFAULT_ROTATION.
  const hostOpts = name === (host.logDriver ?? "json-file") ? host.logOpts ?? {} : {};
  for (const k of Object.keys(hostOpts)) {
    if (!known.includes(k)) {
      throw new UsageError(`unknown log opt ${JSON.stringify(k)} for ${name} log driver`);
    }
  }
  const base: Record<string, string> = Object.keys(hostOpts).length
    ? { ...hostOpts }
    : { ...DEFAULT_ROTATION };
  const size = given["max-size"] ?? base["max-size"];
  const maxSize = size === undefined || size === "-1" ? undefined : parseLogSize(size);
  // max-file means nothing without max-size: refused when asked for, dropped when a default.
  const files = given["max-file"] ?? (maxSize === undefined ? undefined : base["max-file"]);
  let maxFile = 1;
  if (files !== undefined) {
    if (!/^\d+$/.test(files) || Number(files) < 1) {
      throw new UsageError(
        `invalid value for log opt max-file: ${
          JSON.stringify(files)
        }: expected a count of 1 or more`,
      );
    }
    if (maxSize === undefined && Number(files) > 1) {
      throw new UsageError("log opt max-file can only be used with max-size");
    }
    maxFile = Number(files);
  }
  return {
    driver: name,
    opts: maxSize === undefined ? {} : { "max-size": String(maxSize), "max-file": String(maxFile) },
  };
}

/**
 * What the log writer does for a stored LogConfig (tolerant: a record made
 * before rotation existed, or unknown options, means json-file without rotation).
 */
export function logRotation(log: LogConfig | undefined): LogRotation {
  const driver = (LOG_DRIVERS as readonly string[]).includes(log?.driver ?? "")
    ? log!.driver as LogRotation["driver"]
    : "json-file";
  const size = Number(log?.opts?.["max-size"]);
  const files = Number(log?.opts?.["max-file"] ?? 1);
  return {
    driver,
    ...(Number.isSafeInteger(size) && size > 0 ? { maxSize: size } : {}),
    maxFile: Number.isSafeInteger(files) && files >= 1 ? files : 1,
  };
}
