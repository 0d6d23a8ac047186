// The builder without containers: FROM scratch, COPY, ADD, WORKDIR and the
// metadata instructions, on a small directory store (layers are plain
// directories), so what the detached overlays write, the layers they make
// (none for an empty change), the image configs and the cache are checked
// apart from the engine and the real image store.

import assert from "node:assert/strict";
import { requires } from "./lib/harness.ts";
import { setRoots } from "../src/paths.ts";
import { build, type BuildOptions } from "../src/image/build/builder.ts";
import type {
  BuildStore,
  ImageDoc,
  StoreImage,
  StoreLayer,
} from "../src/image/build/store_port.ts";

/** Images and layers in a directory: layers/<n>/ holds each layer's files as overlay wrote them. */
function dirStore(
  dir: string,
): BuildStore & { images: Map<string, StoreImage>; names: Map<string, string> } {
  const images = new Map<string, StoreImage>();
  const names = new Map<string, string>();
  const layerDirs = new Map<string, string>();
  let n = 0;
  return {
    images,
    names,
    findLocal: (ref) => images.get(names.get(ref) ?? ref),
    pull: (ref) => Promise.reject(new Error(`no registry here: ${ref}`)),
    image: (id) => images.get(id),
    lowerDirs: (img) => img.layers.map((l) => layerDirs.get(l.chainId)!).reverse(),
    tempDir: (what) => Deno.makeTempDirSync({ dir, prefix: `${what}-` }),
    commitUpper(upper, parent) {
      if (![...Deno.readDirSync(upper)].length) {
        Deno.removeSync(upper, { recursive: true });
        return Promise.resolve(null);
      }
      const chainId = `sha256:${(++n).toString().padStart(64, "0")}`;
      const to = `${dir}/layers/${n}`;
      Deno.mkdirSync(`${dir}/layers`, { recursive: true });
      Deno.renameSync(upper, to);
      layerDirs.set(chainId, to);
      void parent;
      return Promise.resolve({ chainId, diffId: chainId, size: 0 });
    },
    async putImage(doc: ImageDoc, layers: StoreLayer[]) {
      const bytes = new TextEncoder().encode(JSON.stringify(doc));
      const id = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      const img = { id, doc: structuredClone(doc), layers: [...layers] };
      images.set(id, img);
      return img;
    },
    normalizeTag: (t) => t,
    tag: (id, name) => void names.set(name, id),
  };
}

const opts = (context: string, more: Partial<BuildOptions> = {}): BuildOptions => ({
  context,
  tags: ["out"],
  buildArgs: {},
  noCache: false,
  pull: false,
  network: "none",
  labels: {},
  quiet: true,
  ...more,
});

Deno.test({
  name: "builder without containers: layers, configs and the cache of COPY/ADD/WORKDIR",
  ...requires("root"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "tsbox-build-fs-" });
    setRoots({ state: root });
    try {
      const ctx = `${root}/ctx`;
      await Deno.mkdir(`${ctx}/app/lib`, { recursive: true });
      await Deno.writeTextFile(`${ctx}/app/main.txt`, "main\n");
      await Deno.writeTextFile(`${ctx}/app/lib/x.txt`, "x\n");
      await Deno.symlink("/etc/passwd", `${ctx}/app/lib/abs-link`);
      await Deno.writeTextFile(
        `${ctx}/Dockerfile`,
        [
          "FROM scratch AS one",
          "COPY app /srv/",
          "WORKDIR /srv",
          "WORKDIR /srv",
          "COPY --chmod=600 app/main.txt ./copy.txt",
          "ENV A=1",
          "FROM one",
          "COPY --from=one /srv/lib/x.txt /from-stage.txt",
          'CMD ["/bin/true"]',
          "",
        ].join("\n"),
      );
      const store = dirStore(root);
      const { id } = await build(opts(ctx), store, () => ReadableStream.from([]));
      const img = store.images.get(id)!;
      assert.equal(store.names.get("out"), id);
      assert.deepEqual(img.doc.config?.Cmd, ["/bin/true"]);
      assert.ok(img.doc.config?.Env?.includes("A=1"));
      assert.equal(img.doc.config?.WorkingDir, "/srv");
      // COPY, WORKDIR /srv (exists: no layer), WORKDIR again (no layer), COPY, ENV, COPY --from, CMD.
      assert.equal(img.layers.length, 3);
      assert.deepEqual(img.doc.history?.map((h) => !!h.empty_layer), [
        false,
        true,
        true,
        false,
        true,
        false,
        true,
      ]);
      const [l1, l2, l3] = store.lowerDirs(img).reverse();
      assert.equal(await Deno.readTextFile(`${l1}/srv/main.txt`), "main\n");
      assert.equal(await Deno.readLink(`${l1}/srv/lib/abs-link`), "/etc/passwd");
      assert.equal((await Deno.stat(`${l2}/srv/copy.txt`)).mode! & 0o777, 0o600);
      assert.equal(await Deno.readTextFile(`${l3}/from-stage.txt`), "x\n");
      // A second build hits the cache at every step: the same image.
      const again = await build(opts(ctx), store, () => ReadableStream.from([]));
      assert.equal(again.id, id);
      // A changed source: the steps from its COPY on are new.
      await Deno.writeTextFile(`${ctx}/app/main.txt`, "changed\n");
      const changed = await build(opts(ctx), store, () => ReadableStream.from([]));
      assert.notEqual(changed.id, id);
      const c = store.images.get(changed.id)!;
      assert.equal(c.layers[0]!.chainId === img.layers[0]!.chainId, false);
    } finally {
      setRoots({});
      await Deno.remove(root, { recursive: true });
    }
  },
});
