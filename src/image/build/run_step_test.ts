import assert from "node:assert/strict";
import { removeStubs, runMounts, runOptions } from "./run_step.ts";

function tree(base: string, entries: Record<string, string | null>): void {
  for (const [p, v] of Object.entries(entries)) {
    const full = `${base}/${p}`;
    if (v === null) Deno.mkdirSync(full, { recursive: true });
    else {
      Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      Deno.writeTextFileSync(full, v);
    }
  }
}

const list = (d: string): string[] => {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(rel ? `${d}/${rel}` : d)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory) walk(r);
    }
  };
  walk("");
  return out.sort();
};

Deno.test("removeStubs: the engine's empty mountpoints go, real changes stay", () => {
  const d = Deno.makeTempDirSync();
  try {
    const lower = `${d}/lower`, upper = `${d}/upper`;
    tree(lower, { "etc/passwd": "root", "dev": null, "cache": null });
    tree(upper, {
      "etc/hostname": "",
      "etc/hosts": "",
      "proc": null,
      "sys": null,
      "mnt/cache/target": null,
      "work/file": "real",
      "etc/resolv.conf": "",
      "etc/new": "x",
    });
    removeStubs(upper, [lower], ["/mnt/cache/target"]);
    assert.deepEqual(list(upper), ["etc", "etc/new", "work", "work/file"]);
    // Only stubs: nothing is left (copied-up /etc had only its time changed).
    Deno.removeSync(`${upper}/etc/new`);
    Deno.removeSync(`${upper}/work`, { recursive: true });
    tree(upper, { "etc/hostname": "", "etc/hosts": "" });
    removeStubs(upper, [lower], []);
    assert.deepEqual(list(upper), []);
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("runOptions and runMounts: a RUN as run flags", () => {
  const o = runOptions({
    name: "abc",
    image: "f00",
    argv: ["/bin/sh", "-c", "true"],
    env: ["A=1"],
    network: "none",
    volumes: ["/x:/y:ro"],
    tmpfs: [],
    quiet: false,
  });
  assert.deepEqual([o.entrypoint, o.command, o.env, o.network, o.name], [
    "/bin/sh",
    ["-c", "true"],
    ["A=1"],
    "none",
    "abc",
  ]);
  const m = runMounts([
    "type=cache,target=/root/.cache",
    "type=tmpfs,target=/tmp",
    "type=bind,source=src,target=/src",
  ], {
    contextPath: (p) => `/ctx/${p}`,
    cacheDir: (id) => `/cache/${id.replaceAll("/", "_")}`,
  });
  assert.deepEqual(m, {
    volumes: ["/cache/_root_.cache:/root/.cache", "/ctx/src:/src:ro"],
    tmpfs: ["/tmp"],
  });
  assert.throws(
    () => runMounts(["type=secret,id=x,target=/s"], { contextPath: (p) => p, cacheDir: (i) => i }),
    /not supported/,
  );
});
