import assert from "node:assert/strict";
import { encodeRecords, LogWriter, rotatedPaths } from "./logs.ts";

Deno.test("encodeRecords: the same records as one JSON.stringify per line, for any text", () => {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = ['"', "\\", ",", '","', "a", "é", "\u0000", "\t", "\r", "😀", "\\n", " ", "}"];
  for (let round = 0; round < 3000; round++) {
    const lines = Array.from(
      { length: Math.floor(rand() * 6) },
      () =>
        Array.from(
          { length: Math.floor(rand() * 8) },
          () => alphabet[Math.floor(rand() * alphabet.length)],
        ).join(""),
    );
    const newline = rand() < 0.8;
    const want = lines.map((l) =>
      JSON.stringify({
        log: l + (newline ? "\n" : ""),
        stream: "stderr",
        time: "2026-01-02T03:04:05.678Z",
      }) + "\n"
    ).join("");
    assert.equal(
      encodeRecords(lines, "stderr", "2026-01-02T03:04:05.678Z", newline),
      want,
      JSON.stringify(lines),
    );
  }
});

const ID = "a".repeat(64);

/** Runs `fn` with the path of a log in a fresh directory. */
async function withLog(fn: (path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-unit-logs-" });
  try {
    await fn(`${dir}/container.log`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function records(path: string): { log: string; stream: string }[] {
  return Deno.readTextFileSync(path).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

Deno.test("LogWriter: lines split across reads and streams stay whole; a long line is cut at 16 KiB", async () => {
  await withLog((log) => {
    const w = new LogWriter(ID, undefined, log);
    const enc = new TextEncoder();
    w.write("stdout", enc.encode("hel"));
    w.write("stderr", enc.encode("oops\n"));
    w.write("stdout", enc.encode("lo\nwor"));
    // A two-byte character split between two reads.
    const e = enc.encode("é\n");
    w.write("stdout", e.subarray(0, 1));
    w.write("stdout", e.subarray(1));
    w.write("stdout", enc.encode("x".repeat(40_000)));
    w.write("stdout", enc.encode("end"));
    w.close();
    const r = records(log);
    assert.deepEqual(r.slice(0, 3).map((x) => [x.stream, x.log]), [
      ["stderr", "oops\n"],
      ["stdout", "hello\n"],
      ["stdout", "woré\n"],
    ]);
    assert.equal(r.slice(3).map((x) => x.log).join(""), "x".repeat(40_000) + "end");
    assert.ok(r.slice(3).every((x) => x.log.length <= 16 * 1024));
  });
});

Deno.test("LogWriter: rotation keeps max-file files of at most max-size bytes, whole records", async () => {
  await withLog((log) => {
    const w = new LogWriter(ID, { driver: "json-file", maxSize: 1000, maxFile: 3 }, log);
    const enc = new TextEncoder();
    for (let i = 0; i < 200; i++) w.write("stdout", enc.encode(`line ${i}\n`));
    w.close();
    const files = [...rotatedPaths(log, 3).reverse(), log];
    const all = files.flatMap((f) => {
      assert.ok(Deno.statSync(f).size <= 1000, `${f} is ${Deno.statSync(f).size} bytes`);
      return records(f).map((x) => x.log);
    });
    // The newest lines, in order, none cut.
    assert.equal(all.at(-1), "line 199\n");
    const first = Number(all[0]!.match(/\d+/)![0]);
    assert.deepEqual(all, Array.from({ length: 200 - first }, (_, i) => `line ${first + i}\n`));
    assert.throws(() => Deno.statSync(`${log}.3`), Deno.errors.NotFound);
  });
});

Deno.test("LogWriter: max-file 1 starts the file over; driver none writes nothing", async () => {
  await withLog((log) => {
    const w = new LogWriter(ID, { driver: "json-file", maxSize: 500, maxFile: 1 }, log);
    for (let i = 0; i < 50; i++) w.write("stdout", new TextEncoder().encode(`line ${i}\n`));
    w.close();
    assert.ok(Deno.statSync(log).size <= 500);
    assert.equal(records(log).at(-1)!.log, "line 49\n");
    Deno.removeSync(log);
    const none = new LogWriter(ID, { driver: "none", maxFile: 1 }, log);
    none.write("stdout", new TextEncoder().encode("dropped\n"));
    none.close();
    assert.throws(() => Deno.statSync(log), Deno.errors.NotFound);
  });
});
