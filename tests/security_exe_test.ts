// Root tests of the runtime-executable class of escapes (runc CVE-2019-5736):
// while `tsbox exec` joins a container, its child is still the deno
// executable and already in the container's PID namespace; a container's
// command may also be a `#!/proc/self/exe` script. Neither may give the
// container a handle on the runtime's binary: the child is not dumpable
// from its clone on, and its /proc/self/exe names an empty sealed memfd
// before anything of the container's runs (src/runtime/self_exe.ts).

import assert from "node:assert/strict";
import { rootTest, tsbox } from "./lib/harness.ts";
import { runD } from "./lib/cli.ts";
import { cPrograms } from "./lib/cprog.ts";
import { denoInContainer } from "./lib/netns.ts";

/**
 * Runs the /proc/*\/exe watcher in a container made with `flags`, does 50
 * execs into it, stops the watcher and returns its report.
 */
async function watchExecs(root: string, flags: string[]): Promise<string> {
  const bin = await cPrograms("exewatch");
  await runD(root, "--name", "watched", ...flags, "-v", `${bin}:/t:ro`, "busybox", "/t/exewatch");
  for (let i = 0; i < 50; i++) {
    await tsbox(["exec", "watched", "true"], { root, expect: 0 });
  }
  await tsbox(["exec", "watched", "touch", "/tmp/stop"], { root, expect: 0 });
  await tsbox(["wait", "watched"], { root, expect: 0 });
  return (await tsbox(["logs", "watched"], { root, expect: 0 })).stdout;
}

function checkReport(report: string): void {
  const m = report.match(/^handles (\d+) outside (\d+)\n/);
  assert.ok(m, report);
  assert.ok(Number(m[1]) > 0, `the watcher opened the container's own processes: ${report}`);
  assert.equal(Number(m[2]), 0, `handles outside the container's root:\n${report}`);
}

rootTest(
  "exec: a watcher polling /proc/*/exe during 50 execs gets nothing outside the root",
  async (root) => {
    checkReport(await watchExecs(root, []));
  },
);

rootTest(
  "exec --userns remap: a watcher polling /proc/*/exe during 50 execs gets nothing outside the root",
  async (root) => {
    checkReport(await watchExecs(root, ["--userns", "remap"]));
  },
  { needs: ["userns", "idmap"] },
);

/** Mounts that would let the host's deno run in a busybox container (its libraries). */
const LIBS = denoInContainer();

async function scriptDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-sec-exe-" });
  await Deno.writeTextFile(`${dir}/self.sh`, "#!/proc/self/exe --version\n");
  await Deno.chmod(`${dir}/self.sh`, 0o755);
  await Deno.chmod(dir, 0o755);
  return dir;
}

for (const userns of [[], ["--userns", "remap"]]) {
  const what = userns.length ? " (--userns remap)" : "";
  rootTest(
    `run and exec: /proc/self/exe and #!/proc/self/exe never run the runtime${what}`,
    async (root) => {
      const dir = await scriptDir();
      try {
        const base = ["--network", "none", ...userns, ...LIBS, "-v", `${dir}:/s:ro`, "busybox"];
        // The control: with these mounts the host's deno does run in the container.
        const deno = await tsbox(["run", "--rm", ...base, "deno", "--version"], { root });
        assert.match(deno.stdout, /^deno \d/, `deno runs in the container: ${deno.stderr}`);
        for (const cmd of ["/s/self.sh", "/proc/self/exe"]) {
          const r = await tsbox(["run", "--rm", ...base, cmd, "--version"], { root });
          assert.doesNotMatch(r.stdout, /deno/, `run ${cmd} ran the runtime`);
          assert.equal(r.code, 126, `run ${cmd}: ${r.stderr}`);
          assert.match(r.stderr, /ENOEXEC \(Exec format error\)/);
        }
        await runD(
          root,
          "--name",
          "target",
          ...userns,
          ...LIBS,
          "-v",
          `${dir}:/s:ro`,
          "busybox",
          "sleep",
          "60",
        );
        for (const cmd of ["/s/self.sh", "/proc/self/exe"]) {
          const r = await tsbox(["exec", "target", cmd, "--version"], { root });
          assert.doesNotMatch(r.stdout, /deno/, `exec ${cmd} ran the runtime`);
          assert.equal(r.code, 126, `exec ${cmd}: ${r.stderr}`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
    { needs: userns.length ? ["userns", "idmap"] : [] },
  );
}
