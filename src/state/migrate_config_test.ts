import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS, State } from "./db.ts";
import { legacyConfig } from "./migrate_config.ts";

const SPEC = { ociVersion: "1.2.0", root: { path: "rootfs" }, hostname: "h" };

Deno.test("legacyConfig: the first release's Docker options become the typed configuration", () => {
  const c = legacyConfig(
    SPEC,
    {
      network: "bridge",
      publish: ["8080:80"],
      publishAll: true,
      restart: "on-failure:3",
      autoRemove: false,
      interactive: true,
      labels: ["a=b", "flag"],
      cgroupParent: "batch",
      capAdd: ["NET_ADMIN"],
      userns: "remap",
    },
    "img",
    { "80/tcp": {}, "53/udp": {} },
  );
  assert.deepEqual(c.network.mode, { kind: "bridge", network: "bridge" });
  assert.deepEqual(
    c.network.ports.map((p) => `${p.hostPort ?? "*"}:${p.containerPort}/${p.proto}`),
    ["8080:80/tcp", "*:53/udp"],
  );
  assert.deepEqual(c.restart, { name: "on-failure", maxRetries: 3 });
  assert.equal(c.openStdin, true);
  assert.deepEqual(c.labels, { a: "b", flag: "" });
  assert.equal(c.cgroupParent, "batch");
  assert.deepEqual(c.rootfs, { kind: "image", image: "", imageId: "img" });
  assert.deepEqual(c.request, {
    capAdd: ["NET_ADMIN"],
    capDrop: [],
    privileged: false,
    userns: "remap",
  });
  assert.deepEqual(legacyConfig(SPEC, { network: "container:db" }, null).network.mode, {
    kind: "container",
    ref: "db",
  });
  assert.deepEqual(legacyConfig(SPEC, {}, null).rootfs, { kind: "dir", path: "rootfs" });
});

Deno.test("migration 2: a first-release database keeps its containers, now typed", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const raw = new DatabaseSync(`${dir}/t.db`);
    MIGRATIONS[0]!.up(raw);
    raw.exec("PRAGMA user_version = 1");
    raw.prepare("INSERT INTO images (id, created, size, config) VALUES ('i1', 'now', 1, ?)")
      .run(JSON.stringify({ ExposedPorts: { "80/tcp": {} } }));
    raw.prepare(
      `INSERT INTO containers (id, name, image, image_id, status, created, spec, options)
       VALUES ('c1', 'web', 'busybox', 'i1', 'exited', 'now', ?, ?)`,
    ).run(JSON.stringify(SPEC), JSON.stringify({ publishAll: true, restart: "always" }));
    raw.close();
    const s = new State(`${dir}/t.db`);
    const row = s.get<{ config: string; name: string }>("SELECT * FROM containers");
    assert.equal(row?.name, "web");
    const config = JSON.parse(row!.config);
    assert.equal(config.spec.hostname, "h");
    assert.equal(config.rootfs.image, "busybox");
    assert.equal(config.restart.name, "always");
    assert.equal(config.network.ports[0].containerPort, 80);
    const cols = s.all<{ name: string }>("PRAGMA table_info(containers)").map((c) => c.name);
    assert.ok(!cols.includes("options") && !cols.includes("spec"), cols.join());
    s.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
