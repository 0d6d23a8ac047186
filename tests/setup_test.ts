// A new user's first ten minutes: README's commands on a fresh machine.
// `scripts/setup --test` installs every program the tests run (a test that
// finds a tool only because the developer's machine had it fails in CI), and
// no test may touch the user's own tsbox networking in the host's namespace
// (tsbox0 and the `ip tsbox` table, made by README's first command).

import assert from "node:assert/strict";
import { host, touchesHostNetwork } from "./lib/harness.ts";

const repo = new URL("../", import.meta.url).pathname;

/** Programs the tests run through a shell (`sh -c "..."`), which the scan below cannot see. */
const IN_SHELL_SCRIPTS = ["gzip", "script", "stty", "sleep", "timeout", "printf"];

/** Words the scan below finds that are not programs (see programsTestsRun). */
const NOT_PROGRAMS = [
  "deno",
  "main.ts",
  "import",
  "pod",
  "system",
  "run",
  "ipc",
  "mnt",
  "net",
  "pid",
  "uts",
  "user",
  "cgroup",
];

/** The programs tests/ runs: host("X", ...), new Deno.Command("X", ...), ns.run(["X", ...]). */
function programsTestsRun(): Set<string> {
  const found = new Set(IN_SHELL_SCRIPTS);
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (p.endsWith(".ts")) {
        const text = Deno.readTextFileSync(p);
        // host("X", ...), new Deno.Command("X", ...), and a test namespace's ns.run(["X", ...]).
        const re =
          /\b(?:host|Command)\(\s*"([a-z0-9_.-]+)"|\.(?:run|spawn|spawnInside)\(\s*\[\s*"([a-z0-9_.-]+)"/g;
        for (const m of text.matchAll(re)) found.add(m[1] ?? m[2]!);
      }
    }
  };
  walk(`${repo}tests`);
  // Not programs: Deno and our own scripts, and what test helpers of the same
  // shape take (a podman wrapper's subcommands, oci_linux_test's namespace names).
  for (const x of NOT_PROGRAMS) found.delete(x);
  return found;
}

function which(cmd: string): string | undefined {
  for (const d of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    try {
      return Deno.realPathSync(`${d}/${cmd}`);
    } catch { /* not there */ }
  }
  return undefined;
}

/** The Debian package that ships `path` (usrmerge: also as /bin/...). */
async function packageOf(path: string): Promise<string | undefined> {
  for (const p of [path, path.replace(/^\/usr/, "")]) {
    const r = await host("dpkg-query", ["-S", p], { check: false });
    if (r.code === 0) return r.stdout.split(":")[0]!.trim();
  }
  return undefined;
}

/** Whether a listed package depends on `pkg` (gcc on gcc-12): installing it installs `pkg`. */
async function dependedOn(pkg: string, listed: Set<string>): Promise<boolean> {
  for (const l of listed) {
    const r = await host("dpkg-query", ["-W", "-f=${Depends}", l], { check: false });
    if (
      r.code === 0 && new RegExp(`(^|[ ,|])${pkg.replace(/[.+]/g, "\\$&")}( |,|$)`).test(r.stdout)
    ) {
      return true;
    }
  }
  return false;
}

Deno.test("scripts/setup --test installs every program the tests run", async () => {
  const listed = new Set(
    (await host(`${repo}scripts/setup`, ["--packages", "--test"])).stdout.split("\n").filter(
      Boolean,
    ),
  );
  const problems: string[] = [];
  for (const cmd of [...programsTestsRun()].sort()) {
    const path = which(cmd);
    if (!path) {
      problems.push(`${cmd}: not installed (scripts/setup --test should install it)`);
      continue;
    }
    const pkg = await packageOf(path);
    if (!pkg) {
      problems.push(`${cmd}: ${path} belongs to no Debian package`);
      continue;
    }
    const essential = (await host("dpkg-query", ["-W", "-f=${Essential}", pkg])).stdout.trim();
    if (essential !== "yes" && !listed.has(pkg) && !(await dependedOn(pkg, listed))) {
      problems.push(`${cmd}: package ${pkg} is neither Essential nor in scripts/setup --test`);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("tests refuse to use the host's own tsbox networking", () => {
  const refused = [
    ["run", "--rm", "busybox", "true"],
    ["run", "-d", "--network", "bridge", "busybox", "true"],
    ["create", "--net=backend", "busybox"],
    ["run", "-p", "80:80", "busybox"],
    ["network", "create", "x"],
    ["network", "rm", "bridge"],
    ["network", "prune", "-f"],
    ["build", "-t", "app", "."],
  ];
  for (const args of refused) assert.ok(touchesHostNetwork(args), args.join(" "));
  const allowed = [
    ["run", "--rm", "--network", "none", "busybox", "true"],
    ["run", "--network=host", "busybox", "true"],
    ["create", "--network", "container:web", "busybox"],
    ["build", "--network", "none", "."],
    ["network", "ls"],
    ["network", "inspect", "bridge"],
    ["ps", "-a"],
  ];
  for (const args of allowed) assert.equal(touchesHostNetwork(args), undefined, args.join(" "));
});

Deno.test("scripts/tsbox runs the Deno version scripts/deno pins", () => {
  const pinned = Deno.readTextFileSync(`${repo}scripts/deno`).match(/^version=(\S+)$/m)?.[1];
  const used = Deno.readTextFileSync(`${repo}scripts/tsbox`).match(/\.deno\/([^/]+)\/deno/)?.[1];
  assert.ok(pinned);
  assert.equal(used, pinned);
});
