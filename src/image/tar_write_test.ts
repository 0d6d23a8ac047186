import assert from "node:assert/strict";
import { readTar } from "./tar.ts";
import { headerBlocks, writeTree } from "./tar_write.ts";

Deno.test("headerBlocks: long names and big ids go in a pax header that readTar reads back", async () => {
  const name = `${"d/".repeat(80)}file`;
  const bytes = new Uint8Array([
    ...headerBlocks({
      name,
      type: "0",
      mode: 0o4755,
      uid: 3_000_000,
      gid: 5,
      size: 0,
      mtime: 1_600_000_000,
      xattrs: { "security.capability": new Uint8Array([1, 2, 3]) },
    }),
    ...new Uint8Array(1024),
  ]);
  const entries = [];
  for await (const e of readTar(ReadableStream.from([bytes]))) entries.push(e);
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.path, name);
  assert.equal(entries[0]!.mode, 0o4755);
  assert.equal(entries[0]!.uid, 3_000_000);
  assert.deepEqual([...entries[0]!.xattrs!["security.capability"]!], [1, 2, 3]);
});

Deno.test("writeTree: files, dirs, symlinks and hard links round-trip through readTar", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/a/b`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/a/b/f`, "hello");
    Deno.linkSync(`${dir}/a/b/f`, `${dir}/a/h`);
    Deno.symlinkSync("../x", `${dir}/a/s`);
    const chunks: Uint8Array[] = [];
    const bytes = writeTree(dir, (c) => chunks.push(c.slice()));
    assert.equal(bytes, 5, "the hard link's data is not written twice");
    const seen: string[] = [];
    for await (const e of readTar(ReadableStream.from(chunks))) {
      let body = "";
      for await (const c of e.body) body += new TextDecoder().decode(c);
      seen.push(
        `${e.path} ${e.type}${e.linkname ? ` ${e.linkname}` : ""}${body ? ` ${body}` : ""}`,
      );
    }
    assert.deepEqual(seen, [
      "a/ dir",
      "a/b/ dir",
      "a/b/f file hello",
      "a/h hardlink a/b/f",
      "a/s symlink ../x",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
