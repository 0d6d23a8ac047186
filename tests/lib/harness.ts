// Shared helpers for the root tests under tests/: run the tsbox CLI as a user
// would, skip with a reason when the host lacks something, and check that a
// test leaves nothing behind (mounts, links, cgroups, nft tables, processes).
// Deno's own sanitizers see only Deno resources, so these checks read the
// kernel's view: /proc/self/mountinfo, /sys/class/net, /sys/fs/cgroup, nft.

import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url).pathname;
/** The permissions scripts/tsbox gives main.ts (see the comment there). */
export const TSBOX_PERMS = ["--allow-all"];

/** A reason a test cannot run on this host. */
export type Need =
  | "root"
  | "cgroup2"
  | "cgroup1"
  | "userns"
  | "busybox"
  | "nft"
  | "runc"
  | "idmap"
  | "podman"
  | "containerd";

function missing(need: Need): string | undefined {
  switch (need) {
    case "root":
      return Deno.uid() === 0 ? undefined : "needs root";
    case "cgroup2":
      return exists("/sys/fs/cgroup/cgroup.controllers")
        ? undefined
        : "needs a pure cgroup v2 host";
    case "cgroup1":
      return exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")
        ? undefined
        : "needs cgroup v1 controllers";
    case "userns":
      return exists("/proc/self/ns/user") ? undefined : "needs user namespaces";
    case "busybox":
      return exists("/bin/busybox")
        ? undefined
        : "needs busybox-static (apt-get install busybox-static)";
    case "nft":
      return which("nft") ? undefined : "needs nft to observe (apt-get install nftables)";
    case "runc":
      return which("runc") ? undefined : "needs runc (apt-get install runc)";
    case "podman":
      return which("podman") ? undefined : "needs podman (apt-get install podman)";
    case "containerd":
      return which("containerd") ? undefined : "needs containerd (apt-get install containerd)";
    case "idmap": {
      const [maj, min] = Deno.osRelease().split(".").map(Number) as [number, number];
      return maj > 5 || (maj === 5 && min >= 19)
        ? undefined
        : "needs Linux 5.19+ for idmapped overlay layers";
    }
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function which(cmd: string): boolean {
  return ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].some((d) => exists(`${d}/${cmd}`));
}

/**
 * Options for Deno.test that skip the test, printing why, when a need is missing.
 * @example Deno.test({ name: "x", ...requires("root"), fn })
 */
export function requires(...needs: Need[]): { ignore: boolean } {
  const reasons = needs.map(missing).filter((r): r is string => r !== undefined);
  if (reasons.length) console.error(`skipped: ${reasons.join(", ")}`);
  return { ignore: reasons.length > 0 };
}

/** What a CLI run printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one CLI run. */
export interface RunOptions {
  /** TSBOX_ROOT for this run. */
  root: string;
  stdin?: string;
  env?: Record<string, string>;
  /** Fail unless the exit code is this. */
  expect?: number;
}

/** Runs `tsbox ARGS...` as a subprocess, the way a user or script would. */
export async function tsbox(args: string[], opts: RunOptions): Promise<RunResult> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...TSBOX_PERMS, `${repo}main.ts`, ...args],
    env: { TSBOX_ROOT: opts.root, ...opts.env },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const res = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (opts.expect !== undefined && res.code !== opts.expect) {
    throw new Error(
      `tsbox ${
        args.join(" ")
      }: exit ${res.code}, expected ${opts.expect}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`,
    );
  }
  return res;
}

/** Runs a host command (an observer, e.g. `ip` or `nft`); returns its output. */
export async function host(
  cmd: string,
  args: string[],
  opts: { stdin?: string; check?: boolean } = {},
): Promise<RunResult> {
  const c = new Deno.Command(cmd, {
    args,
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
  const res = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (opts.check !== false && res.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: exit ${res.code}: ${res.stderr}`);
  }
  return res;
}

/** Path of the cached busybox root filesystem tarball, built on first use by scripts/make-busybox-image. */
export async function busyboxTarball(): Promise<string> {
  const path = `${repo}.cache/busybox-rootfs.tar`;
  if (!exists(path)) {
    await host(`${repo}scripts/make-busybox-image`, ["--tar-only", path]);
  }
  return path;
}

/** A fresh TSBOX_ROOT with the busybox image imported as "busybox". Remove it with `cleanupRoot`. */
export async function makeRoot(opts: { image?: boolean } = {}): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tsbox-test-" });
  // Who owns this root: scripts/test clears roots whose owner died (an
  // interrupted run) before the suite, so the final leak check sees only ours.
  await Deno.writeTextFile(`${root}/test-owner`, `${Deno.pid}\n`);
  if (opts.image !== false) {
    await tsbox(["import", await busyboxTarball(), "busybox"], { root, expect: 0 });
  }
  return root;
}

/** Removes every container of `root`, then the directory. */
export async function cleanupRoot(root: string): Promise<void> {
  const ps = await tsbox(["ps", "-aq"], { root });
  const ids = ps.code === 0 ? ps.stdout.split("\n").filter(Boolean) : [];
  if (ids.length) await tsbox(["rm", "-f", ...ids], { root });
  await Deno.remove(root, { recursive: true }).catch(() => {});
}

/** What a test could leave behind on the host. */
export interface Snapshot {
  mounts: string[];
  links: string[];
  cgroups: string[];
  nft: string[];
  processes: string[];
}

function readLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

function listCgroups(): string[] {
  const out: string[] = [];
  const base = "/sys/fs/cgroup";
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory) continue;
      const p = `${dir}/${e.name}`;
      if (p.includes("tsbox")) out.push(p);
      walk(p, depth + 1);
    }
  };
  walk(base, 0);
  return out.sort();
}

/** Processes in another PID namespace than ours: container processes. */
function tsboxProcesses(): string[] {
  const own = Deno.readLinkSync("/proc/self/ns/pid");
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const ns = Deno.readLinkSync(`/proc/${e.name}/ns/pid`);
      if (ns !== own) {
        out.push(
          `${e.name} ${readLines(`/proc/${e.name}/cmdline`).join("").replaceAll("\0", " ")}`,
        );
      }
    } catch { /* gone, or a kernel thread */ }
  }
  return out.sort();
}

/** Records the host's tsbox-related state. */
export async function snapshot(): Promise<Snapshot> {
  const mounts = readLines("/proc/self/mountinfo")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.includes("tsbox"));
  let links: string[] = [];
  try {
    links = [...Deno.readDirSync("/sys/class/net")].map((e) => e.name).filter((n) =>
      n.startsWith("veth") || n.startsWith("tsbox")
    );
  } catch { /* no sysfs */ }
  let nft: string[] = [];
  if (which("nft")) {
    const r = await host("nft", ["list", "tables"], { check: false });
    nft = r.stdout.split("\n").filter((l) => l.includes("tsbox"));
  }
  return {
    mounts: mounts.sort(),
    links: links.sort(),
    cgroups: listCgroups(),
    nft,
    processes: tsboxProcesses(),
  };
}

/** Fails, listing what is new, if the host has tsbox state that `before` did not have. */
export async function assertNoLeaks(before: Snapshot): Promise<void> {
  // Teardown of namespaces and cgroups is asynchronous in the kernel: give it a moment.
  let diff: Record<string, string[]> = {};
  for (let i = 0; i < 20; i++) {
    const after = await snapshot();
    diff = {};
    for (const k of Object.keys(after) as (keyof Snapshot)[]) {
      const added = after[k].filter((x) => !before[k].includes(x));
      if (added.length) diff[k] = added;
    }
    if (Object.keys(diff).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`leaked: ${JSON.stringify(diff, null, 2)}`);
}

/**
 * A root test with its own TSBOX_ROOT (busybox imported) and a leak check
 * around it.
 */
export function rootTest(
  name: string,
  fn: (root: string) => Promise<void>,
  opts: { needs?: Need[]; image?: boolean } = {},
): void {
  Deno.test({
    name,
    ...requires("root", ...(opts.needs ?? [])),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const before = await snapshot();
      const root = await makeRoot({ image: opts.image ?? true });
      try {
        await fn(root);
      } finally {
        await cleanupRoot(root);
      }
      await assertNoLeaks(before);
    },
  });
}
