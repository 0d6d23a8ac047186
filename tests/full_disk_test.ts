// Full disks and broken state, on small tmpfs state roots made by each test:
// stopping, killing and removing the container that filled the disk works
// (the signal first, the record after, on the state root's reserve), errors
// say the disk is full, logs keep whole records; a failed create leaves
// nothing (inodes full, read-only state root, --rm or not); a truncated or
// empty database is reported at once and never replaced, `system check`
// finds it and `system repair` rebuilds what the directories hold.

import assert from "node:assert/strict";
import {
  assertNoLeaks,
  cleanupRoot,
  host,
  makeRoot,
  makeTmpfsRoot,
  requires,
  type RunResult,
  snapshot,
  tsbox,
} from "./lib/harness.ts";
import { fmt, runD, supervisors, until } from "./lib/cli.ts";

/** A test with a tmpfs state root of `size` and a leak check around it. */
function tmpfsTest(
  name: string,
  size: string,
  fn: (root: string) => Promise<void>,
  inodes?: number,
): void {
  Deno.test({
    name,
    ...requires("root"),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const before = await snapshot();
      const root = await makeTmpfsRoot(size, inodes);
      try {
        await fn(root);
      } finally {
        await cleanupRoot(root);
      }
      await assertNoLeaks(before);
    },
  });
}

/** Free bytes of the filesystem of `path`. */
async function free(path: string): Promise<number> {
  return Number(
    (await host("stat", ["-f", "-c", "%a*%S", path])).stdout.split("*")
      .map(Number).reduce((a, b) => a * b),
  );
}

function assertDiskFullError(r: RunResult, what: string): void {
  assert.equal(r.code, 125, `${what}: ${r.stderr}`);
  assert.match(r.stderr, /is full|No space left on device/, what);
  assert.doesNotMatch(r.stderr, /cannot rollback/, what);
}

/** Every record of the container's log files parses (none half written or merged). */
function assertWholeRecords(root: string, id: string): number {
  let n = 0;
  for (const e of Deno.readDirSync(`${root}/containers/${id}`)) {
    if (!e.name.startsWith("container.log")) continue;
    const text = Deno.readTextFileSync(`${root}/containers/${id}/${e.name}`);
    assert.ok(text === "" || text.endsWith("\n"), `${e.name} ends with a whole record`);
    for (const line of text.split("\n").filter(Boolean)) {
      try {
        JSON.parse(line);
      } catch {
        assert.fail(`${e.name}: a damaged record: ${line.slice(0, 120)}`);
      }
      n++;
    }
  }
  return n;
}

tmpfsTest("a full state disk: stop, kill and rm -f of what fills it work", "24m", async (root) => {
  for (const verb of ["stop", "kill", "rm"]) {
    const name = `filler-${verb}`;
    const id = await runD(root, "--name", name, "busybox", "yes", "a line to fill the disk");
    await until("the disk to fill", async () => (await free(root)) < 64 * 1024, 60_000);
    // And what the log writer gives back as it cuts a failed record: taken too.
    await host("sh", ["-c", `dd if=/dev/zero of=${root}/ballast bs=4096 2>/dev/null; true`]);
    const r = await tsbox(["run", "-d", "--network", "none", "busybox", "true"], { root });
    assertDiskFullError(r, "run -d on a full disk");
    const args = verb === "stop"
      ? ["stop", "-t", "1", name]
      : verb === "kill"
      ? ["kill", name]
      : ["rm", "-f", name];
    const done = await tsbox(args, { root });
    assert.equal(done.code, 0, `${args.join(" ")}: ${done.stderr}`);
    if (verb !== "rm") {
      assert.equal(await fmt(root, name, "{{.State.Status}}"), "exited");
      assert.ok(assertWholeRecords(root, id) > 1000);
      // The last line may be cut short by the signal; every line before it is whole.
      const logs = await tsbox(["logs", "--tail", "3", name], { root, expect: 0 });
      const lines = logs.stdout.split("\n");
      assert.deepEqual(lines.slice(0, 2), ["a line to fill the disk", "a line to fill the disk"]);
      assert.ok("a line to fill the disk\n".startsWith(lines.slice(2).join("\n")), logs.stdout);
      assert.doesNotMatch(logs.stderr, /damaged/);
      await tsbox(["rm", name], { root, expect: 0 });
    }
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "", "all gone");
    await Deno.remove(`${root}/ballast`);
  }
  // With room again, containers run.
  await tsbox(["run", "--rm", "--network", "none", "busybox", "true"], { root, expect: 0 });
});

tmpfsTest(
  "a failed create leaves nothing: inodes full, or a read-only state root",
  "64m",
  async (root) => {
    // Warm up (the state and its run root exist), then use up every inode.
    await tsbox(["run", "--rm", "--network", "none", "busybox", "true"], { root, expect: 0 });
    await until("no supervisor", () => Promise.resolve(supervisors(root).length === 0), 15_000);
    await host("sh", [
      "-c",
      `mkdir ${root}/fill; i=0; while touch ${root}/fill/$i 2>/dev/null; do i=$((i+1)); done`,
    ]);
    for (const args of [["run", "-d"], ["run", "-d", "--rm"], ["run", "--rm"], ["create"]]) {
      const r = await tsbox([...args, "--network", "none", "busybox", "true"], { root });
      assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /No space left on device|is full/, args.join(" "));
      assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "", args.join(" "));
      assert.deepEqual([...Deno.readDirSync(`${root}/containers`)], [], args.join(" "));
    }
    await Deno.remove(`${root}/fill`, { recursive: true });
    await until("no supervisor", () => Promise.resolve(supervisors(root).length === 0), 15_000);
    await host("mount", ["-o", "remount,ro", root]);
    try {
      for (const args of [["run", "-d"], ["run", "--rm"], ["create"]]) {
        const r = await tsbox([...args, "--network", "none", "busybox", "true"], { root });
        assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /read-only|readonly/i, args.join(" "));
      }
    } finally {
      await host("mount", ["-o", "remount,rw", root]);
    }
    assert.equal((await tsbox(["ps", "-aq"], { root, expect: 0 })).stdout, "");
    assert.deepEqual([...Deno.readDirSync(`${root}/containers`)], []);
  },
  3000,
);

Deno.test({
  name: "a truncated or empty database is reported at once, never replaced; system repair rebuilds",
  ...requires("root"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const before = await snapshot();
    const root = await makeRoot();
    try {
      const id = await runD(root, "--name", "kept", "busybox", "sh", "-c", "echo kept");
      await tsbox(["wait", "kept"], { root, expect: 0 });
      await until("no supervisor", () => Promise.resolve(supervisors(root).length === 0), 15_000);
      const db = `${root}/tsbox.db`;
      const good = await Deno.readFile(db);
      assert.equal(
        (await tsbox(["system", "check"], { root, expect: 0 })).stdout.includes("ok"),
        true,
      );
      // Truncated to half.
      await Deno.writeFile(db, good.subarray(0, Math.floor(good.length / 2)));
      for (
        const args of [["ps", "-a"], ["run", "--rm", "--network", "none", "busybox", "true"], [
          "run",
          "-d",
          "--network",
          "none",
          "busybox",
          "true",
        ]]
      ) {
        const r = await tsbox(args, { root });
        assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /state database .* is damaged/, args.join(" "));
        assert.match(r.stderr, /system check/, args.join(" "));
        assert.doesNotMatch(r.stderr, /did not start/);
      }
      // Empty: never silently a new, empty state.
      await Deno.writeFile(db, new Uint8Array(0));
      const ps = await tsbox(["ps", "-a"], { root });
      assert.equal(ps.code, 125);
      assert.match(ps.stderr, /is empty, but the state root holds 1 containers and 1 images/);
      assert.equal((await Deno.stat(db)).size, 0, "left as it was");
      const check = await tsbox(["system", "check"], { root });
      assert.equal(check.code, 1);
      assert.match(check.stdout, /problem: the state database .* is empty/);
      const repair = await tsbox(["system", "repair"], { root, expect: 0 });
      assert.match(repair.stdout, /set the empty \(0 bytes\) database aside/);
      assert.ok(
        [...Deno.readDirSync(root)].some((e) => e.name.startsWith("tsbox.db.damaged-")),
        "the damaged database is kept",
      );
      assert.equal((await tsbox(["system", "check"], { root })).code, 0);
      const all = await tsbox(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}"], {
        root,
        expect: 0,
      });
      assert.equal(all.stdout, `${id} recovered-${id.slice(0, 12)}\n`);
      const image = (await tsbox(["images"], { root, expect: 0 })).stdout.split("\n")[1]!
        .split(/\s+/)[0]!;
      assert.match(image, /^recovered-[0-9a-f]{12}$/);
      // The recovered image runs; the recovered container can be removed.
      await tsbox(["run", "--rm", "--network", "none", image, "true"], { root, expect: 0 });
      await tsbox(["rm", id], { root, expect: 0 });
    } finally {
      await cleanupRoot(root);
    }
    await assertNoLeaks(before);
  },
});
