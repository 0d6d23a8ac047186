// The OCI conformance suite's helpers: bundles made by the test (a busybox
// root from the suite's tarball, the checker program of checker.c, a
// config.json written here, independent of the runtime under test), and the
// runtime binary named by TSBOX_RUNTIME (default scripts/tsbox-runc;
// `TSBOX_RUNTIME=runc` runs the same tests against runc, which is how the
// tests themselves are checked).

import assert from "node:assert/strict";
import {
  assertNoLeaks,
  busyboxTarball,
  host,
  type Need,
  requires,
  snapshot,
} from "../lib/harness.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** The runtime under test: a path or a command name. */
export const RUNTIME = Deno.env.get("TSBOX_RUNTIME") || `${repo}scripts/tsbox-runc`;
/** Whether the runtime under test is runc (for the few tests of tsbox-only features). */
export const IS_RUNC = /(^|\/)runc$/.test(RUNTIME);

/**
 * Runs the runtime once before any test: scripts/tsbox-runc (re)makes its bundle on its first
 * call after a change (0.2 s, longer on a fresh machine that fetches the bundler), which must
 * not happen under a caller with a timeout (containerd's shim).
 */
export async function warmRuntime(): Promise<void> {
  await new Deno.Command(RUNTIME, { args: ["--version"], stdout: "null", stderr: "null" })
    .output().catch(() => {});
}

/** A JSON object (config.json and its parts, loosely typed for tests). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** What a runtime command printed and returned. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** One test's world: a state root, a log file, bundles under a scratch dir. */
export interface Ctx {
  /** --root of the runtime. */
  root: string;
  /** Scratch directory (bundles, outputs). */
  dir: string;
  /** --log file (json). */
  log: string;
  /** Container ids this test made (deleted with --force at the end). */
  ids: Set<string>;
  /** A fresh container id. */
  id(prefix?: string): string;
}

let checker: string | undefined;

/** The checker compiled once per run (gcc -static), at .cache/oci-checker. */
async function checkerBinary(): Promise<string> {
  if (checker) return checker;
  const out = `${repo}.cache/oci-checker-${Deno.pid}`;
  await host("gcc", ["-static", "-O2", "-o", out, `${repo}tests/oci/checker.c`]);
  const final = `${repo}.cache/oci-checker`;
  await Deno.rename(out, final);
  return checker = final;
}

/** The config.json every test starts from (runc spec's example, without a terminal). */
export function baseConfig(args: string[], id: string): Json {
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: false },
    hostname: "oci-test",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
      },
      {
        destination: "/sys",
        type: "sysfs",
        source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"],
      },
    ],
    linux: {
      cgroupsPath: `/tsbox-ocitest/${id}`,
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
      ],
      maskedPaths: ["/proc/kcore", "/proc/keys", "/sys/firmware"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/**
 * Makes a bundle under the test's scratch dir: the busybox root plus
 * /checker, and config.json = baseConfig changed by `edit`. Returns its path.
 */
export async function makeBundle(
  ctx: Ctx,
  id: string,
  args: string[],
  edit: (c: Json) => void = () => {},
): Promise<string> {
  const bundle = `${ctx.dir}/${id}`;
  await Deno.mkdir(`${bundle}/rootfs`, { recursive: true });
  await host("tar", ["-xf", await busyboxTarball(), "-C", `${bundle}/rootfs`]);
  await Deno.copyFile(await checkerBinary(), `${bundle}/rootfs/checker`);
  await Deno.chmod(`${bundle}/rootfs/checker`, 0o755);
  const config = baseConfig(args, id);
  edit(config);
  await Deno.writeTextFile(`${bundle}/config.json`, JSON.stringify(config, null, 2));
  return bundle;
}

/** Runs the runtime with the test's --root and --log; stdout and stderr piped. */
export async function oci(
  ctx: Ctx,
  args: string[],
  opts: { stdin?: string } = {},
): Promise<Result> {
  const [cmd, ...pre] = RUNTIME.split(" ");
  const c = new Deno.Command(cmd!, {
    args: [...pre, "--root", ctx.root, "--log", ctx.log, "--log-format", "json", ...args],
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = c.spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/**
 * Runs the runtime with the container's stdio (and its own) sent to files:
 * for `create`, whose container keeps the fds after the runtime exits.
 * Returns the runtime's exit code; the output accumulates in `out`.
 */
export async function ociDetached(ctx: Ctx, args: string[], out: string): Promise<number> {
  const [cmd, ...pre] = RUNTIME.split(" ");
  const r = await host("/bin/sh", [
    "-c",
    'o="$1"; shift; exec "$@" </dev/null >>"$o" 2>&1',
    "sh",
    out,
    cmd!,
    ...pre,
    "--root",
    ctx.root,
    "--log",
    ctx.log,
    "--log-format",
    "json",
    ...args,
  ], { check: false });
  return r.code;
}

/** `run --bundle B ID` of a bundle made with `args` and `edit`; the container's output. */
export async function runBundle(
  ctx: Ctx,
  args: string[],
  edit: (c: Json) => void = () => {},
): Promise<Result> {
  const id = ctx.id();
  const bundle = await makeBundle(ctx, id, args, edit);
  return await oci(ctx, ["run", "--bundle", bundle, id]);
}

/** Like runBundle, but fails unless the container exits 0; returns its stdout. */
export async function runOk(
  ctx: Ctx,
  args: string[],
  edit: (c: Json) => void = () => {},
): Promise<string> {
  const r = await runBundle(ctx, args, edit);
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** The "error" lines of the --log file (JSON lines, as containerd reads them). */
export async function logErrors(ctx: Ctx): Promise<string[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(ctx.log);
  } catch { /* no log yet */ }
  return text.split("\n").filter(Boolean).flatMap((l) => {
    try {
      const j = JSON.parse(l);
      return j.level === "error" ? [String(j.msg)] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Removes the parent group `name` (left by a runtime, as runc leaves it) and
 * its empty subgroups (conmon's) in every hierarchy; a group in use stays.
 */
export function removeEmptyCgroup(name: string): void {
  const roots = ["/sys/fs/cgroup"];
  try {
    for (const e of Deno.readDirSync("/sys/fs/cgroup")) {
      if (e.isDirectory) roots.push(`/sys/fs/cgroup/${e.name}`);
    }
  } catch { /* no cgroupfs */ }
  const rm = (dir: string) => {
    try {
      for (const e of Deno.readDirSync(dir)) if (e.isDirectory) rm(`${dir}/${e.name}`);
      Deno.removeSync(dir);
    } catch { /* absent or busy */ }
  };
  for (const r of roots) rm(`${r}/${name}`);
}

/** The state JSON of `id`. */
export async function state(ctx: Ctx, id: string): Promise<Json> {
  const r = await oci(ctx, ["state", id]);
  assert.equal(r.code, 0, `state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Waits until `id` has status `want` (up to ~10 s). */
export async function waitStatus(ctx: Ctx, id: string, want: string): Promise<Json> {
  let s: Json;
  for (let i = 0; i < 100; i++) {
    s = await state(ctx, id);
    if (s.status === want) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${id}: status ${s.status}, expected ${want}`);
}

/**
 * A conformance test: its own state root, log and scratch dir, every
 * container it made deleted with --force, and the harness's leak check.
 */
export function ociTest(
  name: string,
  fn: (ctx: Ctx) => Promise<void>,
  opts: { needs?: Need[]; tsboxOnly?: string } = {},
): void {
  const skip = opts.tsboxOnly && IS_RUNC;
  if (skip) console.error(`skipped with runc: ${opts.tsboxOnly}`);
  Deno.test({
    name: `${name} [${IS_RUNC ? "runc" : "tsbox-runc"}]`,
    ...(skip ? { ignore: true } : requires("root", ...(opts.needs ?? []))),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await warmRuntime();
      const before = await snapshot();
      const dir = await Deno.makeTempDir({ prefix: "tsbox-oci-" });
      // A container root in a user namespace must reach its bundle.
      await Deno.chmod(dir, 0o755);
      let n = 0;
      const ctx: Ctx = {
        root: `${dir}/state`,
        dir,
        log: `${dir}/log.json`,
        ids: new Set(),
        id(prefix = "c") {
          const id = `${prefix}${++n}-${Deno.pid}`;
          this.ids.add(id);
          return id;
        },
      };
      try {
        await fn(ctx);
      } finally {
        for (const id of ctx.ids) await oci(ctx, ["delete", "--force", id]);
        removeEmptyCgroup("tsbox-ocitest");
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
      await assertNoLeaks(before);
    },
  });
}
