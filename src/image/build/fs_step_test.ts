import assert from "node:assert/strict";
import { chownOwner, isLocalArchive } from "./fs_step.ts";

Deno.test("chownOwner: names from the image, a lone user or uid is also the gid (Docker's rule)", () => {
  const passwd = "root:x:0:0::/root:/bin/sh\napp:x:1000:2000::/home/app:/bin/sh\n";
  const group = "root:x:0:\nstaff:x:50:\n";
  assert.deepEqual(chownOwner("app:staff", passwd, group), { uid: 1000, gid: 50 });
  assert.deepEqual(chownOwner("app", passwd, group), { uid: 1000, gid: 1000 });
  assert.deepEqual(chownOwner("10", passwd, group), { uid: 10, gid: 10 });
  assert.deepEqual(chownOwner("10:20", passwd, group), { uid: 10, gid: 20 });
  assert.throws(
    () => chownOwner("nobody", passwd, group),
    /can't find uid for nobody: no such user/,
  );
  assert.throws(() => chownOwner("app:wheel", passwd, group), /no such group: wheel/);
});

Deno.test("isLocalArchive: tar and gzip'd tar are unpacked, other files copied, xz refused", async () => {
  const d = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${d}/f`, "data\n");
    const tar = new Deno.Command("tar", { args: ["-C", d, "-cf", `${d}/a.tar`, "f"] }).outputSync();
    assert.equal(tar.code, 0);
    new Deno.Command("gzip", { args: ["-k", `${d}/a.tar`] }).outputSync();
    new Deno.Command("gzip", { args: ["-k", `${d}/f`] }).outputSync();
    assert.equal(await isLocalArchive(`${d}/a.tar`), true);
    assert.equal(await isLocalArchive(`${d}/a.tar.gz`), true);
    assert.equal(await isLocalArchive(`${d}/f.gz`), false);
    assert.equal(await isLocalArchive(`${d}/f`), false);
    Deno.writeFileSync(`${d}/x.xz`, new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]));
    await assert.rejects(isLocalArchive(`${d}/x.xz`), /xz and bzip2 archives are not unpacked/);
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});
