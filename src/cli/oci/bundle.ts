// An OCI bundle: its config.json read, checked before anything is made, and
// completed with what the runtime spec says a runtime supplies itself (the
// default devices of config-linux.md "Default Devices", and runc's default
// device rules, appended to the cgroup's list as runc does).

import { RUNC_ALLOWED_DEVICE_RULES } from "../../cgroups/default_devices.ts";
import { UsageError } from "../../errors.ts";
import { NAMESPACES } from "../../runtime/namespaces.ts";
import type { DeviceNode, Spec } from "../../spec/types.ts";

const q = JSON.stringify;

/** config-linux.md "Default Devices" (plus /dev/tty), made when config.json omits them. */
export const DEFAULT_DEVICES: readonly DeviceNode[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/random", type: "c", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

/**
 * Checks a parsed config.json; returns every problem found (empty: fine).
 * Pure: the root directory's existence is checked by loadBundle.
 */
export function specProblems(spec: Spec): string[] {
  const p: string[] = [];
  if (typeof spec !== "object" || spec === null) return ["config.json is not a JSON object"];
  if (typeof spec.ociVersion !== "string") p.push("ociVersion is missing");
  if (!spec.root?.path) p.push("root.path is missing");
  const proc = spec.process;
  if (!proc) p.push("process is missing");
  else {
    if (!Array.isArray(proc.args) || proc.args.length === 0) p.push("process.args is empty");
    if (!proc.cwd?.startsWith("/")) p.push(`process.cwd ${q(proc.cwd)} is not an absolute path`);
    if (typeof proc.user?.uid !== "number" || typeof proc.user?.gid !== "number") {
      p.push("process.user.uid and gid are required");
    }
  }
  const seen = new Set<string>();
  for (const n of spec.linux?.namespaces ?? []) {
    if (!NAMESPACES.some((k) => k.oci === n.type)) p.push(`unknown namespace type ${q(n.type)}`);
    if (seen.has(n.type)) p.push(`namespace ${q(n.type)} is listed twice`);
    seen.add(n.type);
  }
  for (const m of spec.mounts ?? []) {
    if (!m.destination?.startsWith("/")) {
      p.push(`mount destination ${q(m.destination)} is not an absolute path`);
    }
  }
  const sc = spec.linux?.seccomp;
  if (sc) {
    const actions = [sc.defaultAction, ...(sc.syscalls ?? []).map((r) => r.action)];
    if (actions.includes("SCMP_ACT_NOTIFY") || sc.listenerPath) {
      p.push("seccomp: SCMP_ACT_NOTIFY is not supported");
    }
  }
  const userns = spec.linux?.namespaces?.some((n) => n.type === "user" && !n.path);
  if (userns && !(spec.linux?.uidMappings?.length && spec.linux?.gidMappings?.length)) {
    p.push("a new user namespace needs linux.uidMappings and linux.gidMappings");
  }
  return p;
}

/** Adds what a runtime supplies itself: default devices and device rules. */
export function withDefaults(spec: Spec): Spec {
  const linux = { ...spec.linux };
  const devices = [...(linux.devices ?? [])];
  for (const d of DEFAULT_DEVICES) {
    if (!devices.some((x) => x.path === d.path)) devices.push(d);
  }
  linux.devices = devices;
  linux.resources = {
    ...linux.resources,
    devices: [...(linux.resources?.devices ?? []), ...RUNC_ALLOWED_DEVICE_RULES],
  };
  return { ...spec, linux };
}

/** Reads and checks `<bundle>/config.json`. Throws UsageError naming every problem. */
export function loadBundle(bundleArg: string | undefined): { bundle: string; spec: Spec } {
  const raw = bundleArg ?? Deno.cwd();
  // Deno.cwd() only when needed: it costs more than it seems (0.5 ms) on every create.
  const bundle = (raw.startsWith("/") ? raw : `${Deno.cwd()}/${raw}`).replace(/\/+$/, "") || "/";
  let text: string;
  try {
    text = Deno.readTextFileSync(`${bundle}/config.json`);
  } catch (e) {
    throw new UsageError(`read ${q(`${bundle}/config.json`)}`, { cause: e });
  }
  let spec: Spec;
  try {
    spec = JSON.parse(text) as Spec;
  } catch (e) {
    throw new UsageError(`parse ${q(`${bundle}/config.json`)}`, { cause: e });
  }
  const problems = specProblems(spec);
  if (problems.length) throw new UsageError(`invalid config.json: ${problems.join("; ")}`);
  const root = spec.root!.path.startsWith("/") ? spec.root!.path : `${bundle}/${spec.root!.path}`;
  try {
    if (!Deno.statSync(root).isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new UsageError(`root.path ${q(root)}`, { cause: e });
  }
  return { bundle, spec: withDefaults(spec) };
}
