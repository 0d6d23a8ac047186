// Large input reaches the container whole: environment values and arguments
// longer than the syscall program's 64 KiB arena chunks (ffi/mem.ts), and a
// request of a megabyte to the supervisor (every socket write is looped until
// done). Checked from inside the container.

import assert from "node:assert/strict";
import { rootTest, tsbox } from "./lib/harness.ts";

/** Fails if `p` takes longer than `ms` (a hang is a failure, not a stuck suite). */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

rootTest(
  "an env value of 70,000 bytes and an argument of 100,000 bytes arrive whole",
  async (root) => {
    const big = "x".repeat(70_000);
    const arg = "y".repeat(100_000);
    for (const detach of [false, true]) {
      const r = await within(
        60_000,
        "run",
        tsbox([
          "run",
          ...(detach ? ["-d", "--name", "bg"] : ["--rm"]),
          "--network",
          "none",
          "-e",
          `BIG=${big}`,
          "-e",
          "AFTER=after",
          "busybox",
          "sh",
          "-c",
          'echo "${#BIG} ${#1} $AFTER"; case "$BIG" in *[!x]*) echo corrupt;; esac',
          "sh",
          arg,
        ], { root, expect: 0 }),
      );
      let out = r.stdout;
      if (detach) {
        assert.equal((await tsbox(["wait", "bg"], { root, expect: 0 })).stdout.trim(), "0");
        out = (await tsbox(["logs", "bg"], { root, expect: 0 })).stdout;
        await tsbox(["rm", "bg"], { root, expect: 0 });
      }
      assert.equal(out, "70000 100000 after\n", detach ? "run -d" : "run");
    }
  },
);

rootTest("a 1 MB --env-file with a foreground run: every variable arrives", async (root) => {
  const lines = Array.from({ length: 8_000 }, (_, i) => `V${i}=${"v".repeat(120)}${i}`);
  const file = `${root}/big.env`;
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  assert.ok((await Deno.stat(file)).size > 1_000_000);
  const r = await within(
    60_000,
    "run --env-file",
    tsbox(
      [
        "run",
        "--rm",
        "--network",
        "none",
        "--env-file",
        file,
        "busybox",
        "sh",
        "-c",
        'env | grep -c "^V[0-9]*="; echo "$V7999"',
      ],
      { root, expect: 0 },
    ),
  );
  assert.equal(r.stdout, `8000\n${"v".repeat(120)}7999\n`);
});
