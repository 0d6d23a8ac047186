// Throwaway network namespaces for root tests: `ip netns add tsbox-t-<random>`
// (so /run/netns/NAME exists and can be opened), observers run inside with
// `nsenter --net=/run/netns/NAME` (not `ip netns exec`, which remounts /sys),
// and removal with `ip netns del`, also when the test fails. Nothing here
// touches the host's own network namespace.

import {
  assertNoLeaks,
  host,
  makeRoot,
  type Need,
  registerNetns,
  removeRoot,
  requires,
  type RunResult,
  snapshot,
} from "./harness.ts";
import { closeFd, openNetns } from "../../src/net/netlink/netns.ts";

/** One test namespace with an open fd (for IFLA_NET_NS_FD, setns, sockets). */
export class TestNetns {
  readonly name: string;
  readonly path: string;
  /** An fd of /run/netns/NAME, owned by this object. */
  readonly fd: number;

  private constructor(name: string) {
    this.name = name;
    this.path = `/run/netns/${name}`;
    this.fd = openNetns(this.path);
  }

  /** Creates `tsbox-t-<tag>-<random>`. */
  static async create(tag: string): Promise<TestNetns> {
    const name = `tsbox-t-${tag}-${crypto.randomUUID().slice(0, 8)}`;
    await host("ip", ["netns", "add", name]);
    registerNetns(name);
    try {
      return new TestNetns(name);
    } catch (e) {
      await host("ip", ["netns", "del", name], { check: false });
      throw e;
    }
  }

  /** Runs `cmd` inside the namespace (nsenter --net); throws on a non-zero exit unless check is false. */
  run(cmd: string[], opts: { check?: boolean; stdin?: string } = {}): Promise<RunResult> {
    return host("nsenter", [`--net=${this.path}`, ...cmd], opts);
  }

  /** `ip -j ARGS` inside the namespace, parsed. */
  async ip<T = Record<string, unknown>[]>(...args: string[]): Promise<T> {
    const r = await this.run(["ip", "-j", ...args]);
    return JSON.parse(r.stdout || "[]") as T;
  }

  /** Spawns a long-running command inside the namespace (the caller kills it). */
  spawn(cmd: string[]): Deno.ChildProcess {
    return new Deno.Command("nsenter", {
      args: [`--net=${this.path}`, ...cmd],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  /** Whether process `pid` is in this namespace now. */
  contains(pid: number): boolean {
    try {
      return Deno.statSync(`/proc/${pid}/ns/net`).ino === Deno.statSync(this.path).ino;
    } catch {
      return false;
    }
  }

  /**
   * Spawns `cmd` inside the namespace and returns once the process is in it:
   * nsenter starts in the caller's namespace and joins this one only later,
   * so anything that acts on "the namespace of PID" must wait for this.
   */
  async spawnInside(cmd: string[]): Promise<Deno.ChildProcess> {
    const p = this.spawn(cmd);
    for (let i = 0; i < 200 && !this.contains(p.pid); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!this.contains(p.pid)) {
      p.kill("SIGKILL");
      await p.output();
      throw new Error(`process ${p.pid} did not enter ${this.name}`);
    }
    return p;
  }

  /** Closes the fd and deletes the namespace. */
  async delete(): Promise<void> {
    try {
      closeFd(this.fd);
    } finally {
      await host("ip", ["netns", "del", this.name], { check: false });
    }
  }
}

/**
 * Runs `fn` with `tags.length` fresh namespaces and deletes them all afterwards,
 * even if `fn` or a creation fails.
 */
export async function withTestNetns(
  tags: string[],
  fn: (...ns: TestNetns[]) => Promise<void> | void,
): Promise<void> {
  const created: TestNetns[] = [];
  try {
    for (const t of tags) created.push(await TestNetns.create(t));
    await fn(...created);
  } finally {
    for (const ns of created.reverse()) await ns.delete();
  }
}

/**
 * The socket and namespace fds open in this process, as "FD -> socket:[INODE]",
 * to check that a test closed what it opened (Deno's sanitizers do not see fds
 * opened through FFI).
 */
export function openSocketAndNsFds(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
      if (/^(socket|net):|^\/run\/netns\/|^\/proc\/.*\/ns\//.test(target)) {
        out.push(`${e.name} -> ${target}`);
      }
    } catch { /* closed meanwhile */ }
  }
  return out.sort();
}

/** The namespaces `ip netns` lists whose name starts with tsbox-t-. */
export async function leftoverTestNetns(): Promise<string[]> {
  const r = await host("ip", ["netns", "list"], { check: false });
  return r.stdout.split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) =>
    n.startsWith("tsbox-t-")
  );
}

// ---- a host running tsbox, and the outside world -------------------------------

const repoDir = new URL("../../", import.meta.url).pathname;

/**
 * Two namespaces joined by a veth: "host", where tsbox runs (its own tsbox0,
 * nftables table, forwarding), 10.99.0.1/24 on ext0; and "outside", the
 * external client and server, 10.99.0.2/24 on ext0. Both have lo up.
 */
export interface Topology {
  host: TestNetns;
  outside: TestNetns;
  /** TSBOX_ROOT of this topology (busybox imported). */
  root: string;
  hostIp: string;
  outsideIp: string;
  /** Runs `tsbox ARGS` inside the host namespace. */
  tsbox(
    args: string[],
    opts?: { expect?: number; env?: Record<string, string> },
  ): Promise<RunResult>;
  /** Starts `tsbox ARGS` inside the host namespace in the background (a foreground `run`). */
  spawnTsbox(args: string[]): Deno.ChildProcess;
}

/** The command line that runs the tsbox CLI inside `ns`. */
export function tsboxCommand(ns: TestNetns, args: string[]): string[] {
  return [
    `--net=${ns.path}`,
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-all",
    `${repoDir}main.ts`,
    ...args,
  ];
}

function decode(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/**
 * Builds a Topology, runs `fn`, then removes every container and network of
 * its tsbox root (inside the host namespace), the root, and both namespaces,
 * even when `fn` fails.
 */
export async function withTopology(
  tag: string,
  root: string,
  fn: (t: Topology) => Promise<void>,
): Promise<void> {
  await withTestNetns([`${tag}h`, `${tag}o`], async (h, o) => {
    await h.run([
      "ip",
      "link",
      "add",
      "ext0",
      "type",
      "veth",
      "peer",
      "name",
      "ext0",
      "netns",
      o.path,
    ]);
    await h.run(["ip", "addr", "add", "10.99.0.1/24", "dev", "ext0"]);
    await o.run(["ip", "addr", "add", "10.99.0.2/24", "dev", "ext0"]);
    for (const ns of [h, o]) {
      await ns.run(["ip", "link", "set", "ext0", "up"]);
      await ns.run(["ip", "link", "set", "lo", "up"]);
    }
    const env = { TSBOX_ROOT: root };
    const t: Topology = {
      host: h,
      outside: o,
      root,
      hostIp: "10.99.0.1",
      outsideIp: "10.99.0.2",
      tsbox: async (args, opts = {}) => {
        const out = await new Deno.Command("nsenter", {
          args: tsboxCommand(h, args),
          env: { ...env, ...opts.env },
          stdin: "null",
        }).output();
        const res = { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
        if (opts.expect !== undefined && res.code !== opts.expect) {
          throw new Error(
            `tsbox ${args.join(" ")}: exit ${res.code}, expected ${opts.expect}\n` +
              `stdout: ${res.stdout}\nstderr: ${res.stderr}`,
          );
        }
        return res;
      },
      spawnTsbox: (args) =>
        new Deno.Command("nsenter", {
          args: tsboxCommand(h, args),
          env,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
    };
    try {
      await fn(t);
    } finally {
      const ps = await t.tsbox(["ps", "-aq", "--no-trunc"]);
      const ids = ps.stdout.split("\n").filter(Boolean);
      if (ids.length) await t.tsbox(["rm", "-f", ...ids]);
      await t.tsbox(["network", "prune", "-f"]);
    }
  });
}

/**
 * A root test on a fresh Topology (see withTopology), with the host checked
 * for leaks afterwards: links, nft tables, mounts, cgroups and processes of
 * the test process's own namespace, fds, and the test namespaces themselves.
 */
export function topologyTest(
  name: string,
  fn: (t: Topology) => Promise<void>,
  opts: { needs?: Need[] } = {},
): void {
  Deno.test({
    name,
    ...requires("root", "nft", "busybox", ...(opts.needs ?? [])),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const before = await snapshot();
      const fds = openSocketAndNsFds();
      const root = await makeRoot();
      const tag = crypto.randomUUID().slice(0, 4);
      try {
        await withTopology(tag, root, fn);
      } finally {
        await removeRoot(root);
      }
      const left = (await leftoverTestNetns()).filter((n) => n.includes(`-${tag}`));
      if (left.length) throw new Error(`test namespaces left: ${left.join(", ")}`);
      const fdsAfter = openSocketAndNsFds();
      if (fdsAfter.join() !== fds.join()) {
        throw new Error(`fds left open: ${fdsAfter.filter((f) => !fds.includes(f)).join(", ")}`);
      }
      await assertNoLeaks(before);
    },
  });
}

/**
 * `run` flags that let a busybox container run the host's Deno (and other
 * dynamically linked host binaries): the binary, glibc and the loader.
 */
export function denoInContainer(): string[] {
  return [
    "-v",
    `${Deno.realPathSync(Deno.execPath())}:/usr/local/bin/deno:ro`,
    "-v",
    "/usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:ro",
    "-v",
    "/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro",
    "-v",
    "/lib64:/lib64:ro",
    "-e",
    "DENO_DIR=/tmp/deno",
    "-e",
    "HOME=/tmp",
  ];
}

/** Retries `fn` until it returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A TCP server in `ns` on `port` that records each client's address:port
 * (one line per connection on its stdout) and holds the connection until the
 * client closes it. Stop it with `close()`.
 */
export async function startPeerRecorder(
  ns: TestNetns,
  port: number,
): Promise<{ peers: () => string[]; close: () => Promise<void> }> {
  const code = `
    const l = Deno.listen({ hostname: "0.0.0.0", port: ${port} });
    console.log("ready");
    for await (const c of l) {
      const a = c.remoteAddr;
      console.log(a.hostname + ":" + a.port);
      (async () => { try { for await (const _ of c.readable) {} } catch {} })();
    }`;
  const child = await ns.spawnInside([Deno.execPath(), "eval", code]);
  let text = "";
  const reader = (async () => {
    for await (const chunk of child.stdout) text += new TextDecoder().decode(chunk);
  })();
  await waitFor(
    "the peer recorder to listen",
    () => Promise.resolve(text.includes("ready") || undefined),
  );
  return {
    peers: () => text.split("\n").filter((l) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(l)),
    close: async () => {
      child.kill("SIGKILL");
      await child.status;
      await reader.catch(() => {});
      await child.stderr.cancel().catch(() => {});
    },
  };
}

/** Sends one UDP datagram from `ns` to ip:port and returns the answer (or "" after 2 s). */
export async function udpAsk(
  ns: TestNetns,
  ip: string,
  port: number,
  msg: string,
): Promise<string> {
  const code = `
    const s = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
    const t = setTimeout(() => { console.log(""); Deno.exit(0); }, 2000);
    await s.send(new TextEncoder().encode(${
    JSON.stringify(msg)
  }), { transport: "udp", hostname: "${ip}", port: ${port} });
    const [d] = await s.receive();
    clearTimeout(t);
    console.log(new TextDecoder().decode(d));
    s.close();`;
  const r = await ns.run([Deno.execPath(), "eval", "--unstable-net", code], { check: false });
  return r.stdout.trim();
}
