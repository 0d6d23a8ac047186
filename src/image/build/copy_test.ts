import assert from "node:assert/strict";
import { O } from "../../../ffi/constants.ts";
import { sys } from "../../../ffi/syscall.ts";
import { PatternMatcher } from "./dockerignore.ts";
import { inlineFile, writeGroups } from "./copy.ts";
import { checksumGroups, collectSources, type SourceRoot } from "./sources.ts";

const root = Deno.uid() === 0;

function tree(files: Record<string, string | { link: string } | { dir: true; mode?: number }>) {
  const d = Deno.makeTempDirSync({ prefix: "tsbox-copy-test-" });
  for (const [p, v] of Object.entries(files)) {
    const full = `${d}/${p}`;
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof v === "string") Deno.writeTextFileSync(full, v);
    else if ("link" in v) Deno.symlinkSync(v.link, full);
    else {
      Deno.mkdirSync(full, { recursive: true });
      if (v.mode) Deno.chmodSync(full, v.mode);
    }
  }
  return d;
}

function withRoots(
  ctxFiles: Parameters<typeof tree>[0],
  imgFiles: Parameters<typeof tree>[0],
  fn: (ctx: SourceRoot, img: { dir: string; fd: number }) => Promise<void> | void,
  ignore: string[] = [],
) {
  return async () => {
    const c = tree(ctxFiles), i = tree(imgFiles);
    const cfd = sys("open", [c, O.PATH | O.DIRECTORY | O.CLOEXEC]);
    const ifd = sys("open", [i, O.PATH | O.DIRECTORY | O.CLOEXEC]);
    try {
      await fn(
        {
          base: c,
          fd: cfd,
          keepOwners: false,
          ...(ignore.length ? { ignore: new PatternMatcher(ignore) } : {}),
        },
        { dir: i, fd: ifd },
      );
    } finally {
      sys("close", [cfd]);
      sys("close", [ifd]);
      Deno.removeSync(c, { recursive: true });
      Deno.removeSync(i, { recursive: true });
    }
  };
}

const read = (p: string) => Deno.readTextFileSync(p);
const opts = { kw: "COPY" };

Deno.test({
  name: "copy: a file into a directory, onto a path, and through a symlink of the image",
  ignore: !root,
  fn: withRoots(
    { "a.txt": "A" },
    { "usr/bin/": { dir: true }, bin: { link: "/usr/bin" } },
    (ctx, img) => {
      const g = collectSources(ctx, ["a.txt"], opts);
      writeGroups(img.fd, "/bin/", g, [], {});
      assert.equal(read(`${img.dir}/usr/bin/a.txt`), "A");
      writeGroups(img.fd, "/etc/renamed", g, [], {});
      assert.equal(read(`${img.dir}/etc/renamed`), "A");
      writeGroups(img.fd, "/usr", g, [], {}); // an existing directory: into it
      assert.equal(read(`${img.dir}/usr/a.txt`), "A");
      assert.equal(Deno.lstatSync(`${img.dir}/etc`).mode! & 0o777, 0o755);
    },
  ),
});

Deno.test({
  name: "copy: a directory's contents, symlinks kept, hard links kept, times kept",
  ignore: !root,
  fn: withRoots(
    { "src/x/y.txt": "Y", "src/l": { link: "x/y.txt" }, "src/abs": { link: "/etc/passwd" } },
    {},
    async (ctx, img) => {
      Deno.linkSync(`${ctx.base}/src/x/y.txt`, `${ctx.base}/src/hard`);
      Deno.utimeSync(`${ctx.base}/src/x/y.txt`, 1000, 1_600_000_000.123);
      const g = collectSources(ctx, ["src"], opts);
      assert.deepEqual(g[0]!.entries.map((e) => e.rel), ["", "abs", "hard", "l", "x", "x/y.txt"]);
      writeGroups(img.fd, "/app", g, [], {});
      assert.equal(read(`${img.dir}/app/x/y.txt`), "Y");
      assert.equal(Deno.readLinkSync(`${img.dir}/app/l`), "x/y.txt");
      assert.equal(Deno.readLinkSync(`${img.dir}/app/abs`), "/etc/passwd");
      assert.equal(
        Deno.statSync(`${img.dir}/app/hard`).ino,
        Deno.statSync(`${img.dir}/app/x/y.txt`).ino,
      );
      assert.equal(Deno.statSync(`${img.dir}/app/x/y.txt`).mtime!.getTime(), 1_600_000_000_123);
      assert.equal(Deno.statSync(`${img.dir}/app/x/y.txt`).uid, 0);
      assert.match(await checksumGroups(g), /^[0-9a-f]{64}$/);
    },
  ),
});

Deno.test({
  name: "copy: --chown and --chmod apply to what is written and the parents made",
  ignore: !root,
  fn: withRoots({ "d/f": "F" }, {}, (ctx, img) => {
    writeGroups(img.fd, "/x/y/", collectSources(ctx, ["d"], opts), [inlineFile("h", "hi\n")], {
      chown: { uid: 1000, gid: 1001 },
      chmod: 0o750,
    });
    for (const p of ["x", "x/y", "x/y/f", "x/y/h"]) {
      const st = Deno.lstatSync(`${img.dir}/${p}`);
      assert.deepEqual([p, st.uid, st.gid], [p, 1000, 1001]);
    }
    assert.equal(Deno.statSync(`${img.dir}/x/y/f`).mode! & 0o7777, 0o750);
    assert.equal(read(`${img.dir}/x/y/h`), "hi\n");
  }),
});

Deno.test({
  name: "sources: context symlinks never lead outside it; wildcards; .dockerignore; errors",
  ignore: !root,
  fn: withRoots(
    {
      "out": { link: "/etc" },
      "up": { link: "../../../../etc/hostname" },
      "a1.txt": "1",
      "a2.txt": "2",
      "b.md": "b",
      "secret/key": "k",
      "docs/keep.md": "keep",
      "docs/drop.md": "drop",
    },
    {},
    (ctx) => {
      assert.throws(
        () => collectSources(ctx, ["out/passwd"], opts),
        /file not found in build context/,
      );
      assert.throws(() => collectSources(ctx, ["up"], opts), /file not found in build context/);
      assert.deepEqual(collectSources(ctx, ["a*.txt"], opts).map((g) => g.name), [
        "a1.txt",
        "a2.txt",
      ]);
      assert.deepEqual(collectSources(ctx, ["../../a1.txt"], opts).map((g) => g.name), ["a1.txt"]);
      assert.throws(
        () => collectSources(ctx, ["*.none"], opts),
        /COPY failed: no source files were specified/,
      );
      assert.throws(() => collectSources(ctx, ["secret/key"], opts), /excluded by .dockerignore/);
      const docs = collectSources(ctx, ["."], opts)[0]!.entries.map((e) => e.rel);
      assert.ok(
        !docs.includes("secret") && !docs.includes("docs/drop.md") && docs.includes("docs/keep.md"),
      );
    },
    ["secret", "docs", "!docs/keep.md"],
  ),
});
