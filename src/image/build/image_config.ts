// An image's run configuration (the `config` object of an image config:
// OCI image-spec config.md plus Docker's Shell, Healthcheck, OnBuild) and how
// each Dockerfile instruction changes it, with Docker's rules: ENV replaces a
// variable in place or appends it; ENTRYPOINT clears a CMD inherited from the
// base image (not one set in the same stage); shell forms run through SHELL;
// WORKDIR is relative to the previous one; EXPOSE takes ports, ranges and
// protocols; HEALTHCHECK durations become nanoseconds. Pure.

/** Docker's health check of an image. */
export interface HealthConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The run configuration of an image. */
export interface RunConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Shell?: string[];
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
  [key: string]: unknown;
}

/** The PATH a container gets when its image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The shell of shell-form commands when the image sets none. */
export const DEFAULT_SHELL = ["/bin/sh", "-c"];

/** The configuration of `FROM scratch` (as BuildKit: the default PATH, WorkingDir /). */
export function scratchConfig(): RunConfig {
  return { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: "/" };
}

/** A deep copy. */
export function cloneConfig(c: RunConfig): RunConfig {
  return structuredClone(c);
}

/** The name part of "K=V". */
export function envKey(kv: string): string {
  const i = kv.indexOf("=");
  return i < 0 ? kv : kv.slice(0, i);
}

/** The value of `key` in an Env list, or undefined (the last one wins). */
export function envValue(env: readonly string[] | undefined, key: string): string | undefined {
  let v: string | undefined;
  for (const e of env ?? []) if (envKey(e) === key) v = e.slice(key.length + 1);
  return v;
}

/** Sets `key=value` in an Env list: in place when it is there, else at the end. */
export function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => envKey(e) === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** A command as the image stores it: exec form as is, shell form through the SHELL. */
export function resolveCommand(c: RunConfig, args: readonly string[], shell: boolean): string[] {
  return shell ? [...(c.Shell?.length ? c.Shell : DEFAULT_SHELL), ...args] : [...args];
}

/**
 * WORKDIR `requested` after `current` (Docker's NormalizeWorkdir): relative
 * paths join the current directory; the result is clean and absolute.
 */
export function resolveWorkdir(current: string | undefined, requested: string): string {
  const p = requested.startsWith("/") ? requested : `${current || "/"}/${requested}`;
  return cleanPath(p);
}

/** path.Clean for absolute or relative slash paths. */
export function cleanPath(p: string): string {
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (!part || part === ".") continue;
    if (part === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
    } else out.push(part);
  }
  const s = out.join("/");
  return abs ? `/${s}` : s || ".";
}

/**
 * EXPOSE arguments as ExposedPorts keys: "80" -> "80/tcp", "53/udp",
 * "8000-8002" -> three ports. Throws on a bad port or protocol.
 */
export function exposedPorts(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of specs) {
    // A host part (ip:host:container) is accepted by Docker and ignored.
    const spec = raw.includes(":") ? raw.slice(raw.lastIndexOf(":") + 1) : raw;
    const [range, proto = "tcp"] = spec.split("/") as [string, string | undefined];
    const p = proto.toLowerCase();
    if (!["tcp", "udp", "sctp"].includes(p)) throw new Error(`invalid proto: ${proto}`);
    const m = range.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw new Error(`invalid containerPort: ${range}`);
    const lo = Number(m[1]), hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (lo < 1 || hi > 65535 || hi < lo) {
      throw new Error(`invalid range specified for port: ${range}`);
    }
    for (let port = lo; port <= hi; port++) out.push(`${port}/${p}`);
  }
  return out;
}

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A Go duration ("1m30s", "500ms", "0") in nanoseconds; throws on bad syntax. */
export function parseDuration(s: string): number {
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  const t = s.replace(/^[+]/, "");
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (!t || pos !== t.length) throw new Error(`time: invalid duration "${s}"`);
  return Math.round(total);
}

/** A HEALTHCHECK duration flag: at least 1ms, or 0 (inherit). */
function healthDuration(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ns = parseDuration(v);
  if (ns !== 0 && ns < 1e6) throw new Error(`--${flag} cannot be less than 1ms`);
  return ns || undefined;
}

/** The Healthcheck a HEALTHCHECK instruction's parts describe; throws on bad flags. */
export function healthConfig(
  test: string[],
  f: {
    interval?: string;
    timeout?: string;
    startPeriod?: string;
    startInterval?: string;
    retries?: string;
  },
): HealthConfig {
  if (test[0] === "NONE") return { Test: ["NONE"] };
  const h: HealthConfig = { Test: test };
  const set = (k: keyof HealthConfig, v: number | undefined) => {
    if (v !== undefined) (h as unknown as Record<string, number>)[k] = v;
  };
  set("Interval", healthDuration("interval", f.interval));
  set("Timeout", healthDuration("timeout", f.timeout));
  set("StartPeriod", healthDuration("start-period", f.startPeriod));
  set("StartInterval", healthDuration("start-interval", f.startInterval));
  if (f.retries !== undefined) {
    if (!/^-?\d+$/.test(f.retries)) throw new Error(`invalid retries "${f.retries}"`);
    const n = Number(f.retries);
    if (n < 0) throw new Error("--retries cannot be negative");
    if (n) h.Retries = n;
  }
  return h;
}

/** Signal names Docker's STOPSIGNAL accepts, with or without SIG, and numbers. */
const SIGNAL_NAMES = new Set([
  "ABRT",
  "ALRM",
  "BUS",
  "CHLD",
  "CLD",
  "CONT",
  "FPE",
  "HUP",
  "ILL",
  "INT",
  "IO",
  "IOT",
  "KILL",
  "PIPE",
  "POLL",
  "PROF",
  "PWR",
  "QUIT",
  "SEGV",
  "STKFLT",
  "STOP",
  "SYS",
  "TERM",
  "TRAP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "USR1",
  "USR2",
  "VTALRM",
  "WINCH",
  "XCPU",
  "XFSZ",
]);

/** Checks a STOPSIGNAL value; throws "invalid signal". */
export function checkSignal(s: string): string {
  const up = s.toUpperCase().replace(/^SIG/, "");
  const rt = up.match(/^RTMIN(?:\+(\d+))?$|^RTMAX(?:-(\d+))?$/);
  if (/^\d+$/.test(s) ? Number(s) >= 1 && Number(s) <= 64 : SIGNAL_NAMES.has(up) || !!rt) return s;
  throw new Error(`invalid signal: ${s}`);
}
