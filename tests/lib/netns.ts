// Throwaway network namespaces for root tests: `ip netns add tsbox-t-<random>`
// (so /run/netns/NAME exists and can be opened), observers run inside with
// `nsenter --net=/run/netns/NAME` (not `ip netns exec`, which remounts /sys),
// and removal with `ip netns del`, also when the test fails. Nothing here
// touches the host's own network namespace.

import { host, type RunResult } from "./harness.ts";
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
