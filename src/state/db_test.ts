import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS, State } from "./db.ts";

Deno.test("State: a new database gets every migration; opening again changes nothing", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const s = new State(`${dir}/t.db`);
    assert.equal(s.version(), MIGRATIONS.length);
    s.run("INSERT INTO groups(name, resources, created) VALUES ('g', '{}', 'now')");
    s.close();
    const again = new State(`${dir}/t.db`);
    assert.equal(again.version(), MIGRATIONS.length);
    assert.equal(again.all("SELECT name FROM groups").length, 1);
    again.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("State: a database of the first release (user_version 1) opens with its rows", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const raw = new DatabaseSync(`${dir}/t.db`);
    MIGRATIONS[0]!.up(raw);
    raw.exec("PRAGMA user_version = 1");
    raw.exec("INSERT INTO groups(name, resources, created) VALUES ('kept', '{}', 'now')");
    raw.close();
    const s = new State(`${dir}/t.db`);
    assert.equal(s.version(), MIGRATIONS.length);
    assert.deepEqual(s.all<{ name: string }>("SELECT name FROM groups").map((r) => r.name), [
      "kept",
    ]);
    s.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("State: a database from a newer tsbox is refused, not downgraded", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const raw = new DatabaseSync(`${dir}/t.db`);
    raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
    raw.close();
    assert.throws(() => new State(`${dir}/t.db`), /newer than this tsbox knows/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
