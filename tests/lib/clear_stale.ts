// Run by scripts/test before the root tests: an interrupted earlier run (a
// killed `deno test`, a machine restart) leaves test state roots with their
// containers, cgroups and network namespaces. Clear those whose owning test
// process is gone, say what was cleared, and leave any live run's roots alone,
// so the suite's final leak check judges this run only.

import { cleanupRoot, host } from "./harness.ts";

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function owner(root: string): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(`${root}/test-owner`).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const cleared: string[] = [];
for (const e of Deno.readDirSync("/tmp")) {
  if (!e.isDirectory || !e.name.startsWith("tsbox-test-")) continue;
  const root = `/tmp/${e.name}`;
  const pid = owner(root);
  if (pid !== undefined && alive(pid)) continue;
  await cleanupRoot(root);
  cleared.push(root);
}

// Network namespaces made by tests/lib/netns.ts, when no test process is running.
const testsRunning = [...Deno.readDirSync("/proc")].some((e) => {
  if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) return false;
  try {
    const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
    return cmd.includes("\0test\0") && cmd.includes("deno");
  } catch {
    return false;
  }
});
if (!testsRunning) {
  // Scratch directories of cgroup tests (bind-mounted at /out).
  for (const e of Deno.readDirSync("/tmp")) {
    if (e.isDirectory && e.name.startsWith("tsbox-cgtest-")) {
      await Deno.remove(`/tmp/${e.name}`, { recursive: true });
      cleared.push(`/tmp/${e.name}`);
    }
  }
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync("/run/netns")].map((e) => e.name).filter((n) =>
      n.startsWith("tsbox-t-")
    );
  } catch { /* no /run/netns */ }
  for (const n of names) {
    await host("ip", ["netns", "del", n], { check: false });
    cleared.push(`/run/netns/${n}`);
  }
}

if (cleared.length) {
  console.error(
    `scripts/test: cleared what an interrupted run left behind:\n  ${cleared.join("\n  ")}`,
  );
}
