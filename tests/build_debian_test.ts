// `tsbox build` of real Dockerfiles on Debian base images from a loopback
// registry (debootstrap + umoci + skopeo, tests/lib/build_fixtures.ts): a
// Python web app that installs a .deb from its context, built on the
// default bridge network and served through a published port inside test
// network namespaces; a multi-stage build compiling a C program with gcc
// into a scratch image (only the stages the target needs are built); and
// the same Dockerfile built by `podman build`, whose image has the same
// config and the same filesystem.

import assert from "node:assert/strict";
import { Staging } from "../src/mount/staging.ts";
import { mountOverlay } from "../src/mount/rootfs.ts";
import { NO_TRACE } from "../src/runtime/trace.ts";
import { host, rootTest, tsbox } from "./lib/harness.ts";
import {
  cProgramContext,
  greetingDeb,
  pushDebian,
  PY_APP,
  pythonAppContext,
  writeContext,
} from "./lib/build_fixtures.ts";
import { topologyTest, waitFor } from "./lib/netns.ts";
import { startRegistry } from "./lib/registry.ts";
import { describeTree, treeDiff } from "./lib/tree.ts";

/** Runs `fn` with a registry holding the Debian images. */
async function withDebian(fn: (refs: { python: string; gcc: string }) => Promise<void>) {
  const reg = await startRegistry();
  try {
    await fn(await pushDebian(reg.host));
  } finally {
    await reg.close();
  }
}

topologyTest(
  "build a Python app on Debian (bridge network), run it, curl its published port",
  async (t) => {
    await withDebian(async (refs) => {
      const ctx = await pythonAppContext(refs.python);
      try {
        // The registry is on the machine's loopback: pull there, build inside the test namespace.
        await tsbox(["pull", "-q", refs.python], { root: t.root, expect: 0 });
        const b = await t.tsbox(["build", "-t", "pyapp:1", ctx], { expect: 0 });
        assert.match(b.stdout, /Step 4\/9 : RUN dpkg -i/);
        assert.match(b.stdout, /Setting up python3-greeting \(1\.0\)/);
        assert.match(b.stdout, /Successfully tagged pyapp:1\n$/);
        await t.tsbox(["run", "-d", "--name", "web", "-p", "8080:8000", "pyapp:1"], { expect: 0 });
        const body = await waitFor("the app to answer", async () => {
          const r = await t.outside.run(["curl", "-sf", "-m", "2", `http://${t.hostIp}:8080/`], {
            check: false,
          });
          return r.code === 0 ? r.stdout : undefined;
        }, 20_000);
        assert.equal(body, "hello, tsbox from a .deb\n");
        const who = await t.tsbox(["exec", "web", "id", "-un"], { expect: 0 });
        assert.equal(who.stdout, "nobody\n");
      } finally {
        await Deno.remove(ctx, { recursive: true });
      }
    });
  },
);

rootTest("multi-stage: gcc in a Debian stage, the static binary alone in scratch", async (root) => {
  await withDebian(async (refs) => {
    const ctx = await cProgramContext(refs.gcc);
    try {
      const b = await tsbox(["build", "--network", "none", "-t", "hello:c", ctx], {
        root,
        expect: 0,
      });
      assert.doesNotMatch(b.stdout, /exit 42/);
      const run = await tsbox(["run", "--rm", "--network", "none", "hello:c"], { root, expect: 0 });
      assert.equal(run.stdout, "hello from C, 2 args\n");
      const img =
        JSON.parse((await tsbox(["image", "inspect", "hello:c"], { root, expect: 0 })).stdout)[0];
      assert.equal(img.RootFS.Layers.length, 1);
      // --target: the build stage only.
      const t = await tsbox(["build", "--network", "none", "--target", "build", "-q", ctx], {
        root,
        expect: 0,
      });
      const id = t.stdout.trim();
      const ls = await tsbox([
        "run",
        "--rm",
        "--network",
        "none",
        id,
        "ls",
        "/hello",
        "/src/hello.c",
      ], {
        root,
        expect: 0,
      });
      assert.equal(ls.stdout, "/hello\n/src/hello.c\n");
    } finally {
      await Deno.remove(ctx, { recursive: true });
    }
  });
});

/** The merged tree of a tsbox image (an overlay of its layers in a staging namespace). */
async function tsboxTree(root: string, ref: string): Promise<Map<string, string>> {
  const doc = JSON.parse((await tsbox(["image", "inspect", ref], { root, expect: 0 })).stdout)[0];
  const lower: string[] = doc.GraphDriver.Data.LowerDir.split(":");
  const scratch = await Deno.makeTempDir({ prefix: "tsbox-tree-" });
  for (const d of ["mnt", "up", "work"]) await Deno.mkdir(`${scratch}/${d}`);
  const staging = Staging.enter(NO_TRACE);
  try {
    mountOverlay(lower, `${scratch}/up`, `${scratch}/work`, `${scratch}/mnt`, NO_TRACE);
    return describeTree(`${scratch}/mnt`);
  } finally {
    staging.leave();
    await Deno.remove(scratch, { recursive: true });
  }
}

/** Podman with its own storage under /tmp. */
async function withPodman<T>(fn: (podman: (...a: string[]) => Promise<string>) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "podman-build-" });
  const podman = async (...a: string[]) =>
    (await host("podman", [
      "--root",
      `${dir}/root`,
      "--runroot",
      `${dir}/run`,
      "--tmpdir",
      `${dir}/tmp`,
      "--storage-driver",
      "overlay",
      "--cgroup-manager",
      "cgroupfs",
      ...a,
    ])).stdout.trim();
  try {
    return await fn(podman);
  } finally {
    await podman("system", "reset", "-f").catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Times of files a RUN made differ from build to build; the rest must be the same. */
function withoutTimes(tree: Map<string, string>): Map<string, string> {
  return new Map([...tree].map(([k, v]) => [k, v.replace(/ mtime=\d+/, "")]));
}

rootTest(
  "the same Dockerfile built by podman: the same config and the same filesystem",
  async (root) => {
    await withDebian(async (refs) => {
      const ctx = await writeContext({
        "app.py": PY_APP,
        "conf/a.conf": "a\n",
        "conf/b.conf": "b\n",
        "tree/sub/f": "f\n",
        Dockerfile: `FROM ${refs.python}
ARG VERSION=1.2
LABEL org.example.version=$VERSION maintainer="tests"
ENV APP=/srv/app PATH=/srv/app/bin:$PATH
WORKDIR $APP
COPY app.py ./
COPY conf/*.conf ./conf/
COPY --chown=65534:65534 tree ./tree/
COPY python3-greeting.deb /tmp/
RUN dpkg -i /tmp/python3-greeting.deb && rm /tmp/python3-greeting.deb \\
 && mkdir -p bin && printf '#!/bin/sh\\necho tool\\n' > bin/tool && chmod 755 bin/tool \\
 && rm -rf /var/lib/dpkg/*-old /var/cache/debconf/*-old /var/log/*
RUN ln -s /srv/app/app.py /usr/local/bin/app && echo $VERSION > version
EXPOSE 8000 9000/udp
VOLUME /data
USER nobody:nogroup
ENTRYPOINT ["python3"]
CMD ["app.py"]
`,
      });
      try {
        await greetingDeb(`${ctx}/python3-greeting.deb`);
        await tsbox(["pull", "-q", refs.python], { root, expect: 0 });
        await tsbox(["build", "--network", "none", "-t", "cmp:1", ctx], { root, expect: 0 });
        const ours =
          JSON.parse((await tsbox(["image", "inspect", "cmp:1"], { root, expect: 0 })).stdout)[0];
        const oursTree = withoutTimes(await tsboxTree(root, "cmp:1"));
        const theirs = await withPodman(async (podman) => {
          await podman("pull", "-q", "--tls-verify=false", refs.python);
          await podman(
            "build",
            "-q",
            "--network",
            "none",
            "--format",
            "docker",
            "-t",
            "cmp:1",
            ctx,
          );
          const config = JSON.parse(
            (await host("skopeo", [
              "inspect",
              "--config",
              `containers-storage:[overlay@${(await podman(
                "info",
                "-f",
                "{{.Store.GraphRoot}}",
              ))}+${(await podman("info", "-f", "{{.Store.RunRoot}}"))}]localhost/cmp:1`,
            ])).stdout,
          ).config;
          const mnt = await podman("image", "mount", "localhost/cmp:1");
          try {
            return { config, tree: withoutTimes(describeTree(mnt)) };
          } finally {
            await podman("image", "unmount", "localhost/cmp:1");
          }
        });
        for (const k of ["Entrypoint", "Cmd", "WorkingDir", "User", "ExposedPorts", "Volumes"]) {
          assert.deepEqual(ours.Config[k], theirs.config[k], k);
        }
        // ENV of a variable the base has: Docker replaces it in place, Buildah moves it to the end.
        assert.deepEqual([...ours.Config.Env].sort(), [...theirs.config.Env].sort());
        const { "io.buildah.version": _, ...labels } = theirs.config.Labels;
        assert.deepEqual(ours.Config.Labels, labels);
        oursTree.delete("/");
        theirs.tree.delete("/");
        // Buildah leaves the RUN's mountpoint stubs and /run/.containerenv behind.
        for (const p of ["/run/.containerenv"]) theirs.tree.delete(p);
        assert.deepEqual(treeDiff(oursTree, theirs.tree), [], "tsbox's tree differs from Podman's");
      } finally {
        await Deno.remove(ctx, { recursive: true });
      }
    });
  },
);
