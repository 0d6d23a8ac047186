import assert from "node:assert/strict";
import { looksLikeArchive, openContext } from "./context.ts";

const root = Deno.uid() === 0;
const streamOf = (b: Uint8Array) => () => ReadableStream.from([b]);
const none = () => ReadableStream.from<Uint8Array>([]);

function dir(files: Record<string, string>): string {
  const d = Deno.makeTempDirSync({ prefix: "tsbox-ctx-test-" });
  for (const [p, t] of Object.entries(files)) {
    Deno.mkdirSync(`${d}/${p}`.replace(/\/[^/]*$/, ""), { recursive: true });
    Deno.writeTextFileSync(`${d}/${p}`, t);
  }
  return d;
}

Deno.test("openContext: a directory, its Dockerfile and .dockerignore", async () => {
  const d = dir({ Dockerfile: "FROM x\n", ".dockerignore": "*.log\n", "a.log": "" });
  const tmp = () => Deno.makeTempDirSync();
  try {
    const c = await openContext(d, { stdin: none, tempDir: tmp });
    assert.equal(c.dockerfile.text, "FROM x\n");
    assert.equal(c.dockerfile.name, "Dockerfile");
    assert.equal(c.ignore?.excludes("a.log"), true);
    c.close();
    Deno.writeTextFileSync(`${d}/app.Dockerfile`, "FROM y\n");
    Deno.writeTextFileSync(`${d}/app.Dockerfile.dockerignore`, "*.txt\n");
    const f = await openContext(d, { file: `${d}/app.Dockerfile`, stdin: none, tempDir: tmp });
    assert.equal(f.dockerfile.text, "FROM y\n");
    assert.equal(f.ignore?.excludes("a.log"), false);
    assert.equal(f.ignore?.excludes("b.txt"), true);
    f.close();
    const s = await openContext(d, {
      file: "-",
      stdin: streamOf(new TextEncoder().encode("FROM z\n")),
      tempDir: tmp,
    });
    assert.equal(s.dockerfile.text, "FROM z\n");
    s.close();
    await assert.rejects(
      openContext(`${d}/nope`, { stdin: none, tempDir: tmp }),
      /unable to prepare context/,
    );
    await assert.rejects(
      openContext(d, { file: `${d}/missing`, stdin: none, tempDir: tmp }),
      /open Dockerfile/,
    );
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test({
  name: "openContext: standard input, a tar archive or a Dockerfile alone",
  ignore: !root,
  fn: async () => {
    const d = dir({ Dockerfile: "FROM t\n", "sub/f": "F" });
    const tar = new Deno.Command("tar", { args: ["-C", d, "-czf", "-", "."] }).outputSync().stdout;
    assert.ok(looksLikeArchive(tar));
    let made = "";
    const tmp = () => (made = Deno.makeTempDirSync());
    try {
      const c = await openContext("-", { stdin: streamOf(tar), tempDir: tmp });
      assert.equal(c.dockerfile.text, "FROM t\n");
      assert.equal(Deno.readTextFileSync(`${c.base}/sub/f`), "F");
      c.close();
      assert.throws(() => Deno.statSync(made));
      const only = await openContext("-", {
        stdin: streamOf(new TextEncoder().encode("FROM only\n")),
        tempDir: tmp,
      });
      assert.equal(only.dockerfile.text, "FROM only\n");
      assert.deepEqual([...Deno.readDirSync(only.base)], []);
      only.close();
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});
