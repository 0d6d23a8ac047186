// Shared helpers for the root tests under tests/: run the tsbox CLI as a user
// would, skip with a reason when the host lacks something, and check that a
// test leaves nothing behind (mounts, links, cgroups, nft rules, processes).
// Deno's own sanitizers see only Deno resources, so these checks read the
// kernel's view: /proc/self/mountinfo, /sys/class/net, /sys/fs/cgroup, nft.
//
// The machine is shared: a user's own tsbox (README's first command makes
// `tsbox0` and the `ip tsbox` table in the host's namespace) and other
// engineers' containers live beside the suite. So the checks judge only what
// the suite made: every state root made here (makeRoot) is registered, and
// what a root owned (its container ids from the containers and events tables,
// its networks' bridges, its groups) is read from its database before the
// root goes. A leak is a kernel object named after one of those, never
// anything else. And no test touches the host's own tsbox networking: the
// CLI runner refuses, in the host's namespace, a container on a bridge
// network and the network verbs that change something (tests with networks
// run tsbox in namespaces of their own: tests/lib/netns.ts).

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";

const repo = new URL("../../", import.meta.url).pathname;
/** The flags scripts/tsbox gives deno for main.ts (see the comment there). */
export const TSBOX_PERMS = ["--no-config", "--unstable-lazy-dynamic-imports", "--allow-all"];

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

/**
 * Why running `tsbox ARGS` in the host's network namespace would touch the
 * host's own tsbox networking (tsbox0, the `ip tsbox` table), or undefined.
 * Tests that need a network run tsbox in a namespace of their own (Topology).
 */
export function touchesHostNetwork(args: readonly string[]): string | undefined {
  const [verb, ...rest] = args;
  if (verb === "network") {
    const sub = rest.find((a) => !a.startsWith("-"));
    return sub === undefined || ["ls", "list", "inspect"].includes(sub)
      ? undefined
      : `"network ${sub}" acts on the host's namespace`;
  }
  // build: its RUN steps are containers on --network (bridge by default).
  if (verb !== "run" && verb !== "create" && verb !== "build") return undefined;
  let mode = "bridge";
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--network" || a === "--net") mode = rest[i + 1] ?? mode;
    else if (a.startsWith("--network=") || a.startsWith("--net=")) mode = a.split("=")[1]!;
  }
  return mode === "none" || mode === "host" || mode.startsWith("container:")
    ? undefined
    : `a container on network ${JSON.stringify(mode)} would use the host's tsbox networking`;
}

/** Fails when `args` would touch the host's own tsbox networking (see touchesHostNetwork). */
export function assertHostNetworkUntouched(args: readonly string[]): void {
  const why = touchesHostNetwork(args);
  if (why) {
    throw new Error(
      `tsbox ${
        args.join(" ")
      }: ${why}: give --network none, or run it in a test namespace (tests/lib/netns.ts topologyTest)`,
    );
  }
}

/** Runs `tsbox ARGS...` as a subprocess, the way a user or script would. */
export async function tsbox(args: string[], opts: RunOptions): Promise<RunResult> {
  assertHostNetworkUntouched(args);
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
  registerRoot(root);
  if (opts.image !== false) {
    await tsbox(["import", await busyboxTarball(), "busybox"], { root, expect: 0 });
  }
  return root;
}

/** Removes every container of `root`, then the directory (what it owned is remembered first). */
export async function cleanupRoot(root: string): Promise<void> {
  const ps = await tsbox(["ps", "-aq"], { root });
  const ids = ps.code === 0 ? ps.stdout.split("\n").filter(Boolean) : [];
  if (ids.length) await tsbox(["rm", "-f", ...ids], { root });
  await removeRoot(root);
}

/** Deletes a test state root, once what it owned is recorded for the leak checks. */
export async function removeRoot(root: string): Promise<void> {
  if (roots.has(root)) {
    const o = ownedBy(root, roots.get(root));
    roots.set(root, o);
    logSuite({ root, ids: [...o.ids], bridges: [...o.bridges], groups: [...o.groups] });
  }
  // A small filesystem of its own (makeTmpfsRoot): unmounted first.
  if (readLines("/proc/self/mountinfo").some((l) => l.split(" ")[4] === root)) {
    await host("umount", ["-l", root], { check: false });
  }
  await Deno.remove(root, { recursive: true }).catch(() => {});
}

/**
 * A test state root on a tmpfs of its own (`size` as mount(8) takes it, e.g.
 * "24m"; `inodes` caps its inode table), with busybox imported: full disks
 * and full inode tables without touching the host's. Remove it with cleanupRoot (which unmounts it).
 */
export async function makeTmpfsRoot(size: string, inodes?: number): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tsbox-test-" });
  const opts = `size=${size},mode=0700${inodes ? `,nr_inodes=${inodes}` : ""}`;
  await host("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", root]);
  await Deno.writeTextFile(`${root}/test-owner`, `${Deno.pid}\n`);
  registerRoot(root);
  await tsbox(["import", await busyboxTarball(), "busybox"], { root, expect: 0 });
  return root;
}

// ------------------------------------------------------------ what the suite made

/** What one state root made: the names of the kernel objects it may leave. */
export interface Owned {
  /** Container ids (64 hex digits). */
  ids: Set<string>;
  /** Bridges of its user networks (never tsbox0, which a user's tsbox may own too). */
  bridges: Set<string>;
  /** Its groups (`tsbox group create`): cgroups tsbox/<name>. */
  groups: Set<string>;
}

/** The state roots this test file made, with what each owned (read when it was removed). */
const roots = new Map<string, Owned | undefined>();

/**
 * The suite's record, shared by its test files (each runs in an isolate of
 * its own, in one process): a line per removed root and per test namespace.
 * tests/zz_suite_leaks_test.ts reads it and removes it; a dead process's
 * record is removed by the next suite.
 */
const SUITE_LOG = `/tmp/tsbox-suite-${Deno.pid}.jsonl`;
for (
  const e of (() => {
    try {
      return [...Deno.readDirSync("/tmp")];
    } catch {
      return [];
    }
  })()
) {
  const pid = e.name.match(/^tsbox-suite-(\d+)\.jsonl$/)?.[1];
  if (pid && !exists(`/proc/${pid}`)) Deno.removeSync(`/tmp/${e.name}`);
}

type SuiteEntry =
  | { root: string; ids: string[]; bridges: string[]; groups: string[] }
  | { netns: string }
  | { start: number; hostNetworking: string };

function logSuite(entry: SuiteEntry): void {
  Deno.writeTextFileSync(SUITE_LOG, JSON.stringify(entry) + "\n", { append: true });
}

if (!exists(SUITE_LOG)) logSuite({ start: Date.now(), hostNetworking: hostTsboxNetworking() });

/**
 * The host's own tsbox networking, as an identity: tsbox0's ifindex and the
 * `ip tsbox` table's handle ("" for one that does not exist). A test that
 * removed or rebuilt either changes it.
 */
export function hostTsboxNetworking(): string {
  const link = readLines("/sys/class/net/tsbox0/ifindex")[0] ?? "";
  let table = "";
  if (which("nft")) {
    const out = new Deno.Command("nft", {
      args: ["-a", "list", "table", "ip", "tsbox"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    table = new TextDecoder().decode(out.stdout).match(/^table ip tsbox \{ # handle (\d+)/)?.[1] ??
      "";
  }
  return `tsbox0 ifindex ${link || "none"}, table ip tsbox handle ${table || "none"}`;
}

function registerRoot(root: string): void {
  roots.set(root, undefined);
}

/** Records a network namespace a test made, for the suite's leak check. */
export function registerNetns(name: string): void {
  logSuite({ netns: name });
}

/** What the suite made, and the host's own tsbox networking when it began. */
export type SuiteMade = Owned & {
  roots: string[];
  netns: string[];
  /** When the suite began (ms since the epoch). */
  start: number;
  /** hostTsboxNetworking() when the suite began. */
  hostNetworking: string;
};

/** Everything the suite (every test file of this process) made: roots, their objects, namespaces. */
export function suiteMade(): SuiteMade {
  const o: SuiteMade = {
    ids: new Set(),
    bridges: new Set(),
    groups: new Set(),
    roots: [],
    netns: [],
    start: Date.now(),
    hostNetworking: hostTsboxNetworking(),
  };
  for (const line of readLines(SUITE_LOG)) {
    const e = JSON.parse(line) as SuiteEntry;
    if ("netns" in e) o.netns.push(e.netns);
    else if ("start" in e) (o.start = e.start, o.hostNetworking = e.hostNetworking);
    else {
      o.roots.push(e.root);
      e.ids.forEach((x) => o.ids.add(x));
      e.bridges.forEach((x) => o.bridges.add(x));
      e.groups.forEach((x) => o.groups.add(x));
    }
  }
  // Roots of this process not removed (a test that died midway): still on disk.
  for (
    const e of (() => {
      try {
        return [...Deno.readDirSync("/tmp")];
      } catch {
        return [];
      }
    })()
  ) {
    const root = `/tmp/${e.name}`;
    if (!e.name.startsWith("tsbox-test-") || o.roots.includes(root)) continue;
    if (readLines(`${root}/test-owner`)[0] === String(Deno.pid)) {
      o.roots.push(root);
      ownedBy(root, o);
    }
  }
  return o;
}

/** Removes the suite's record (the last test file does, after checking it). */
export function forgetSuite(): void {
  try {
    Deno.removeSync(SUITE_LOG);
  } catch { /* none */ }
}

/** Reads what `root` owns from its database and directories, added to `into`. */
export function ownedBy(root: string, into?: Owned): Owned {
  const o = into ?? { ids: new Set(), bridges: new Set(), groups: new Set() };
  try {
    for (const e of Deno.readDirSync(`${root}/containers`)) o.ids.add(e.name);
  } catch { /* none */ }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(`${root}/tsbox.db`, { readOnly: true });
    const rows = (sql: string) => db!.prepare(sql).all() as Record<string, string>[];
    for (const r of rows("SELECT id FROM containers")) o.ids.add(r.id!);
    for (const r of rows("SELECT DISTINCT id FROM events WHERE type = 'container'")) {
      o.ids.add(r.id!);
    }
    for (const r of rows("SELECT bridge FROM networks WHERE name != 'bridge'")) {
      o.bridges.add(r.bridge!);
    }
    for (const r of rows("SELECT name FROM groups")) o.groups.add(r.name!.split("/")[0]!);
  } catch {
    /* no database (yet), or a test broke it on purpose */
  } finally {
    try {
      db?.close();
    } catch { /* closed */ }
  }
  return o;
}

/** What the roots in `which`, made by this test file, owned. */
function ownedByRoots(which: Iterable<string>): Owned & { roots: string[] } {
  const o: Owned = { ids: new Set(), bridges: new Set(), groups: new Set() };
  const list = [...which];
  for (const r of list) {
    const known = roots.get(r);
    if (known) {
      for (const k of ["ids", "bridges", "groups"] as const) known[k].forEach((x) => o[k].add(x));
    } else ownedBy(r, o);
  }
  return { ...o, roots: list };
}

/** Whether `text` (a path, a link name, an nft rule, a process line) names something of `o`. */
export function isOwned(text: string, o: Owned & { roots: string[] }): boolean {
  for (const r of o.roots) if (text.includes(r)) return true;
  for (const id of o.ids) {
    if (text.includes(id) || text === `veth${id.slice(0, 7)}`) return true;
  }
  for (const b of o.bridges) if (text === b || text.includes(`"${b}"`)) return true;
  for (const g of o.groups) if (new RegExp(`/tsbox/${g}(/|$)`).test(text)) return true;
  return false;
}

/** What a test could leave behind on the host (only what it made is judged: see isOwned). */
export interface Snapshot {
  mounts: string[];
  links: string[];
  cgroups: string[];
  nft: string[];
  processes: string[];
  /** State roots alive when it was taken, and how many had been made: the test's scope. */
  scope: { live: string[]; made: number };
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

/** Processes in another PID namespace than ours (container processes), with their cgroups. */
function tsboxProcesses(): string[] {
  const own = Deno.readLinkSync("/proc/self/ns/pid");
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const ns = Deno.readLinkSync(`/proc/${e.name}/ns/pid`);
      if (ns !== own) {
        const cmd = readLines(`/proc/${e.name}/cmdline`).join("").replaceAll("\0", " ");
        const cgroups = readLines(`/proc/${e.name}/cgroup`).map((l) => l.split(":")[2]);
        out.push(`${e.name} ${cmd}[${[...new Set(cgroups)].join(" ")}]`);
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
    const r = await host("nft", ["list", "ruleset"], { check: false });
    nft = r.stdout.split("\n").map((l) => l.trim()).filter((l) => l.includes("tsbox"));
  }
  return {
    mounts: mounts.sort(),
    links: links.sort(),
    cgroups: listCgroups(),
    nft,
    processes: tsboxProcesses(),
    scope: {
      live: [...roots].filter(([, owned]) => owned === undefined).map(([r]) => r),
      made: roots.size,
    },
  };
}

/**
 * Fails, listing what is new, if the host has kernel objects that `before`
 * did not have and that the state roots of the test made (those alive when
 * `before` was taken, and those made since). Other tsbox users' objects,
 * and the host's own tsbox0, are never judged.
 */
export async function assertNoLeaks(before: Snapshot): Promise<void> {
  const scope = ownedByRoots([...before.scope.live, ...[...roots.keys()].slice(before.scope.made)]);
  // Teardown of namespaces and cgroups is asynchronous in the kernel: give it a moment.
  let diff: Record<string, string[]> = {};
  for (let i = 0; i < 20; i++) {
    const after = await snapshot();
    diff = {};
    for (const k of ["mounts", "links", "cgroups", "nft", "processes"] as const) {
      const added = after[k].filter((x) => !before[k].includes(x) && isOwned(x, scope));
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
