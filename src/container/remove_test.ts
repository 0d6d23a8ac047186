import assert from "node:assert/strict";
import { addResource, insertContainer, listResources } from "../state/containers.ts";
import { state } from "../state/db.ts";
import { formatError } from "../errors.ts";
import { type ContainerConfig, NO_RESTART } from "../spec/config.ts";
import { destroyContainer, registerUndo, releaseResources } from "./remove.ts";

// One state root for this file (state() opens it once per process).
const root = Deno.makeTempDirSync({ prefix: "tsbox-unit-remove-" });
Deno.env.set("TSBOX_ROOT", root);
Deno.env.set("TSBOX_RUNROOT", `${root}/run`);
addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

const undone: string[] = [];
registerUndo("test", (_id, r) => {
  undone.push(r.key);
});

function container(): string {
  const id = crypto.randomUUID().replaceAll("-", "").padEnd(64, "0");
  const config: ContainerConfig = {
    spec: { ociVersion: "1.0.2" },
    rootfs: { kind: "dir", path: "/nonexistent" },
    network: { mode: { kind: "none" }, ports: [], publish: [] },
    restart: NO_RESTART,
    autoRemove: false,
    openStdin: false,
    labels: {},
    log: { driver: "json-file", opts: {} },
    request: { capAdd: [], capDrop: [], privileged: false, userns: "host" },
  };
  insertContainer({ id, image: "x", imageId: null, config });
  return id;
}

function startOf(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
}

Deno.test("releaseResources leaves a resource another live process is releasing to it", async () => {
  const id = container();
  const parent = 1; // init: alive, and not us
  addResource(id, "test", "mine");
  addResource(id, "test", "theirs", { releasing: { pid: parent, start: startOf(parent) } });
  // A claim of a process that is gone (a crash) is taken over.
  addResource(id, "test", "orphaned", { releasing: { pid: parent, start: "1" } });
  undone.length = 0;
  assert.equal(await releaseResources(id), 1, "one is another process's");
  assert.deepEqual(undone.sort(), ["mine", "orphaned"]);
  assert.deepEqual(listResources(id).map((r) => r.key), ["theirs"]);
  // Once that process is done (its row gone), the removal completes.
  state().run("DELETE FROM resources WHERE container_id = ? AND key = 'theirs'", id);
  await destroyContainer(id);
  assert.deepEqual(listResources(id), []);
});

Deno.test("a failed undo gives its claim back, so a later rm tries again", async () => {
  const id = container();
  let fail = true;
  registerUndo("flaky", () => {
    if (fail) throw new Error("busy");
  });
  addResource(id, "flaky", "k");
  await assert.rejects(
    () => releaseResources(id),
    (e) => /release flaky k: busy/.test(formatError(e)),
  );
  assert.equal(listResources(id)[0]!.data.releasing, undefined);
  fail = false;
  assert.equal(await releaseResources(id), 0);
  assert.deepEqual(listResources(id), []);
});

Deno.test("destroyContainer removes the run directory of its FIFOs", async () => {
  const id = container();
  Deno.mkdirSync(`${root}/run/containers/${id}`, { recursive: true });
  Deno.writeTextFileSync(`${root}/run/containers/${id}/stdout`, "");
  await destroyContainer(id);
  assert.throws(() => Deno.statSync(`${root}/run/containers/${id}`), Deno.errors.NotFound);
});
