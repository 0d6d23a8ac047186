// tsbox's configuration file: defaults an administrator sets once for every
// container of this host, in /etc/tsbox/tsbox.json ($TSBOX_CONFIG overrides
// the path). The file is optional; every key is optional and off when absent.
// An unknown key or a bad value is an error naming the file and the key, so
// a typo never silently leaves a limit off.
//
//   {
//     "pidsLimit": 2048,                         default --pids-limit (Docker: none, Podman: 2048)
//     "logDriver": "json-file",                  default --log-driver
//     "logOpts": { "max-size": "10m", "max-file": "3" }   default --log-opt
//     "insecureRegistries": ["registry.lan:5000"] registries reached over plain HTTP
//   }

import { UsageError } from "./errors.ts";

/** The settings of tsbox.json. */
export interface TsboxConfig {
  /** Default --pids-limit of new containers; absent: no limit (as Docker). */
  pidsLimit?: number;
  /** Default --log-driver of new containers. */
  logDriver?: string;
  /** Default --log-opt of new containers, e.g. { "max-size": "10m" }. */
  logOpts?: Record<string, string>;
  /** Registries tsbox may reach over plain HTTP when HTTPS fails (loopback always may). */
  insecureRegistries?: string[];
}

/** The path of the configuration file. */
export function configPath(): string {
  return Deno.env.get("TSBOX_CONFIG") || "/etc/tsbox/tsbox.json";
}

type Check = (v: unknown) => boolean;
const KEYS: Record<keyof TsboxConfig, { check: Check; expect: string }> = {
  pidsLimit: {
    check: (v) => typeof v === "number" && Number.isInteger(v) && (v > 0 || v === -1),
    expect: "a positive integer (or -1 for unlimited)",
  },
  logDriver: { check: (v) => typeof v === "string" && v !== "", expect: "a driver name" },
  logOpts: {
    check: (v) =>
      typeof v === "object" && v !== null && !Array.isArray(v) &&
      Object.values(v).every((x) => typeof x === "string"),
    expect: 'an object of strings, e.g. {"max-size": "10m"}',
  },
  insecureRegistries: {
    check: (v) => Array.isArray(v) && v.every((x) => typeof x === "string" && x !== ""),
    expect: 'a list of registry hosts, e.g. ["registry.lan:5000"]',
  },
};

/** Parses the text of a configuration file; `path` names it in errors. Throws UsageError. */
export function parseConfig(text: string, path: string): TsboxConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`configuration file ${JSON.stringify(path)}: not JSON`, { cause: e });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new UsageError(`configuration file ${JSON.stringify(path)}: expected a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const def = KEYS[k as keyof TsboxConfig];
    if (!def) {
      throw new UsageError(
        `configuration file ${JSON.stringify(path)}: unknown key ${JSON.stringify(k)} (known: ${
          Object.keys(KEYS).join(", ")
        })`,
      );
    }
    if (!def.check(v)) {
      throw new UsageError(
        `configuration file ${JSON.stringify(path)}: ${k}: expected ${def.expect}, got ${
          JSON.stringify(v)
        }`,
      );
    }
    out[k] = v;
  }
  return out as TsboxConfig;
}

let cached: { path: string; mtime: number; config: TsboxConfig } | undefined;

/**
 * The configuration in effect: the file's settings, or none when it does not
 * exist. Read again when the file changes (the supervisor lives long).
 */
export function loadConfig(): TsboxConfig {
  const path = configPath();
  let mtime: number;
  try {
    mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new UsageError(`configuration file ${JSON.stringify(path)}`, { cause: e });
  }
  if (cached?.path === path && cached.mtime === mtime) return cached.config;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(`configuration file ${JSON.stringify(path)}`, { cause: e });
  }
  const config = parseConfig(text, path);
  cached = { path, mtime, config };
  return config;
}
