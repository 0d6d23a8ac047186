import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { checkBeforeOpen, headerProblem, isDiskFull } from "./health.ts";

Deno.test("headerProblem finds a truncated database and a file that is not one", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/t.db`;
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE t (v TEXT)");
    for (let i = 0; i < 200; i++) db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(500));
    db.close();
    const bytes = Deno.readFileSync(path);
    assert.equal(headerProblem(path, bytes.length), undefined);
    Deno.writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
    assert.match(headerProblem(path, bytes.length >> 1)!, /^truncated: \d+ bytes where/);
    Deno.writeFileSync(path, new TextEncoder().encode("hello, not a database"));
    assert.match(headerProblem(path, 21)!, /not an SQLite database/);
    assert.throws(() => checkBeforeOpen(dir, path), /is damaged, and was left as it is/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("checkBeforeOpen refuses an empty or missing database beside containers", () => {
  const dir = Deno.makeTempDirSync();
  try {
    checkBeforeOpen(dir, `${dir}/tsbox.db`); // a new state root: fine
    Deno.mkdirSync(`${dir}/containers/abc`, { recursive: true });
    assert.throws(
      () => checkBeforeOpen(dir, `${dir}/tsbox.db`),
      /is missing, but the state root holds 1 containers/,
    );
    Deno.writeFileSync(`${dir}/tsbox.db`, new Uint8Array(0));
    assert.throws(() => checkBeforeOpen(dir, `${dir}/tsbox.db`), /is empty, but/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("isDiskFull reads SQLite's and the kernel's words, in a chain", () => {
  assert.ok(isDiskFull(new Error("database or disk is full")));
  assert.ok(
    isDiskFull(new Error("x", { cause: new Error("No space left on device (os error 28)") })),
  );
  assert.ok(!isDiskFull(new Error("database is locked")));
});
