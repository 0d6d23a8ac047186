import assert from "node:assert/strict";
import { lockHolder, releaseLock, tryTakeLock } from "./lock.ts";

Deno.test("the supervisor lock: one holder, seen by others with its pid, gone with it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-unit-lock-" });
  const path = `${dir}/supervisor.lock`;
  const lockModule = new URL("./lock.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const m = await import(${JSON.stringify(lockModule)});
       console.log(m.tryTakeLock(${JSON.stringify(path)}) === undefined ? "busy" : "held");
       await new Promise((r) => setTimeout(r, 60_000));`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    assert.equal(new TextDecoder().decode(value).trim(), "held");
    assert.equal(lockHolder(path), child.pid, "its pid, read with F_GETLK");
    assert.equal(tryTakeLock(path), undefined, "no second holder");
    assert.equal(lockHolder(path), child.pid, "probing did not take it");
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
  assert.equal(lockHolder(path), undefined, "released by the kernel when its holder died");
  const fd = tryTakeLock(path);
  assert.ok(fd !== undefined);
  assert.equal(lockHolder(path), Deno.pid, "the holder knows itself without opening the file");
  releaseLock(fd);
  assert.equal(lockHolder(path), undefined);
  await Deno.remove(dir, { recursive: true });
});
