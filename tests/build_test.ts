// `tsbox build` on the busybox image (no network: RUN steps use --network
// none): every instruction with its effect on the image's config and files,
// .dockerignore, heredocs, the reference's ARG/ENV substitution examples,
// the cache (a second build reuses every step, a changed file or build arg
// rebuilds from the step that uses it), a build context on stdin, -q, bad
// Dockerfiles (file and line, exit 1, nothing left), a failing RUN, and
// `builder prune` with `system df`.

import assert from "node:assert/strict";
import { host, rootTest, tsbox } from "./lib/harness.ts";

type Files = Record<string, string>;

async function context(files: Files): Promise<string> {
  const d = await Deno.makeTempDir({ prefix: "tsbox-build-ctx-" });
  for (const [p, text] of Object.entries(files)) {
    await Deno.mkdir(`${d}/${p}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${d}/${p}`, text);
  }
  return d;
}

async function withContext(files: Files, fn: (dir: string) => Promise<void>): Promise<void> {
  const d = await context(files);
  try {
    await fn(d);
  } finally {
    await Deno.remove(d, { recursive: true });
  }
}

const build = (root: string, args: string[], expect = 0) =>
  tsbox(["build", "--network", "none", ...args], { root, expect });

/** The fields of `image inspect` the tests read. */
interface Inspected {
  Id: string;
  Author?: string;
  RootFS: { Layers: string[] };
  Config: {
    Env: string[];
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts: Record<string, unknown>;
    Volumes: Record<string, unknown>;
    Labels: Record<string, string>;
    StopSignal?: string;
    Healthcheck?: unknown;
    Shell?: string[];
    OnBuild?: string[] | null;
  };
}

async function inspect(root: string, ref: string): Promise<Inspected> {
  const r = await tsbox(["image", "inspect", ref], { root, expect: 0 });
  return JSON.parse(r.stdout)[0];
}

async function sh(root: string, image: string, script: string): Promise<string> {
  const r = await tsbox(
    [
      "run",
      "--rm",
      "--network",
      "none",
      "--user",
      "0",
      "--entrypoint",
      "/bin/sh",
      image,
      "-c",
      script,
    ],
    { root, expect: 0 },
  );
  return r.stdout;
}

/** Image ids `images -a -q` lists, and container ids `ps -aq`. */
async function leftovers(root: string): Promise<{ images: string[]; containers: string[] }> {
  const i = await tsbox(["images", "-a", "-q", "--no-trunc"], { root, expect: 0 });
  const c = await tsbox(["ps", "-a", "-q"], { root, expect: 0 });
  return {
    images: i.stdout.split("\n").filter(Boolean).sort(),
    containers: c.stdout.split("\n").filter(Boolean),
  };
}

rootTest("build: every instruction, with its config and files", async (root) => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/remote.txt"
        ? new Response("downloaded\n", {
          headers: { "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT" },
        })
        : new Response("no", { status: 404 }),
  );
  const port = server.addr.port;
  const tar = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${tar}/pkg/bin`, { recursive: true });
    await Deno.writeTextFile(`${tar}/pkg/bin/tool`, "#!/bin/sh\necho tool\n", { mode: 0o755 });
    await withContext({
      "conf/a.conf": "a=1\n",
      "conf/b.conf": "b=2\n",
      "conf/skip.txt": "no\n",
      "dir/sub/file": "in dir\n",
      Dockerfile: `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS base
LABEL stage=base
ONBUILD RUN echo triggered > /onbuild.txt

FROM base
MAINTAINER tsbox tests
ARG GREETING=hello
ENV APP_HOME=/srv/app \\
    GREETING_ENV=\${GREETING}
LABEL org.example.name="every instruction" version=1
EXPOSE 8080 53/udp
VOLUME ["/data"]
WORKDIR $APP_HOME
COPY --chown=1000:1000 --chmod=640 conf/*.conf ./conf/
COPY --link dir/ ./dir/
COPY --from=busybox /bin/busybox /opt/busybox-from-image
ADD archive.tar.gz /opt/
ADD http://127.0.0.1:${port}/remote.txt /downloads/
COPY <<EOF /etc/motd
Welcome to \${APP_HOME}
EOF
RUN <<EOF
set -e
echo "$GREETING" > greeting.txt
EOF
SHELL ["/bin/sh", "-ec"]
RUN case $- in *e*) echo "shell: errexit" ;; esac > shell.txt
USER 1000:1000
RUN id -u > /tmp/uid.txt
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD wget -q -O- http://localhost:8080/ || exit 1
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo ready"]
`,
    }, async (ctx) => {
      await host("tar", ["-C", tar, "-czf", `${ctx}/archive.tar.gz`, "pkg"]);
      const r = await build(root, ["-t", "every:1", "--label", "built.by=test", ctx]);
      assert.match(r.stdout, /^Step 1\/\d+ : FROM \$\{BASE\} AS base$/m);
      assert.match(r.stdout, /# Executing 1 build trigger/);
      assert.match(r.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged every:1\n$/);
      assert.match(r.stderr, /# syntax=docker\/dockerfile:1" is ignored/);
      const img = await inspect(root, "every:1");
      const c = img.Config;
      assert.deepEqual(c.Entrypoint, ["/bin/sh", "-c"]);
      assert.deepEqual(c.Cmd, ["echo ready"]);
      assert.equal(c.WorkingDir, "/srv/app");
      assert.equal(c.User, "1000:1000");
      assert.ok(c.Env.includes("APP_HOME=/srv/app") && c.Env.includes("GREETING_ENV=hello"));
      assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ["53/udp", "8080/tcp"]);
      assert.deepEqual(Object.keys(c.Volumes), ["/data"]);
      assert.deepEqual(c.Labels, {
        stage: "base",
        "org.example.name": "every instruction",
        version: "1",
        "built.by": "test",
      });
      assert.equal(c.StopSignal, "SIGUSR1");
      assert.deepEqual(c.Healthcheck, {
        Test: ["CMD-SHELL", "wget -q -O- http://localhost:8080/ || exit 1"],
        Interval: 5e9,
        Timeout: 2e9,
        Retries: 4,
      });
      assert.deepEqual(c.Shell, ["/bin/sh", "-ec"]);
      assert.ok(!c.OnBuild?.length, "triggers are not inherited");
      assert.equal(img.Author, "tsbox tests");
      const files = await sh(
        root,
        "every:1",
        `cd /srv/app && stat -c '%n %u:%g %a' conf/a.conf conf/b.conf && ls conf && cat dir/sub/file greeting.txt shell.txt /tmp/uid.txt /etc/motd /onbuild.txt && /opt/pkg/bin/tool && cat /downloads/remote.txt && stat -c '%a %Y' /downloads/remote.txt && cmp /bin/busybox /opt/busybox-from-image && echo same`,
      );
      assert.equal(
        files,
        [
          "conf/a.conf 1000:1000 640",
          "conf/b.conf 1000:1000 640",
          "a.conf",
          "b.conf",
          "in dir",
          "hello",
          "shell: errexit",
          "1000",
          "Welcome to /srv/app",
          "triggered",
          "tool",
          "downloaded",
          "600 1445412480",
          "same",
          "",
        ].join("\n"),
      );
      // The image runs as its config says.
      const run = await tsbox(["run", "--rm", "--network", "none", "every:1"], { root, expect: 0 });
      assert.equal(run.stdout, "ready\n");
    });
  } finally {
    await server.shutdown();
    await Deno.remove(tar, { recursive: true });
  }
});

rootTest(".dockerignore: patterns, ** and exceptions decide what COPY sees", async (root) => {
  await withContext({
    Dockerfile: "FROM busybox\nCOPY . /ctx/\nRUN cd /ctx && find . | sort > /list\n",
    ".dockerignore": "# comment\n*.log\n**/tmp\nsecret\ndocs/*\n!docs/keep.md\n/Dockerfile\n",
    "a.txt": "",
    "b.log": "",
    "secret/key": "",
    "x/y/tmp/t": "",
    "x/y/z": "",
    "docs/keep.md": "",
    "docs/drop.md": "",
    "deep/c.log": "",
  }, async (ctx) => {
    await build(root, ["-t", "ign", ctx]);
    const list = await sh(root, "ign", "cat /list");
    assert.equal(
      list,
      [
        ".",
        "./.dockerignore",
        "./a.txt",
        "./deep",
        // "*.log" is for the context's top only (a * never matches "/").
        "./deep/c.log",
        "./docs",
        "./docs/keep.md",
        "./x",
        "./x/y",
        "./x/y/z",
        "",
      ]
        .join("\n"),
    );
    const r = await tsbox(["build", "--network", "none", "-f", `${ctx}/other`, ctx], { root });
    assert.equal(r.code, 1);
    await Deno.writeTextFile(`${ctx}/other`, "FROM busybox\nCOPY secret/key /k\n");
    const ex = await tsbox(["build", "--network", "none", "-f", `${ctx}/other`, ctx], { root });
    assert.equal(ex.code, 1);
    assert.match(
      ex.stderr,
      /other:2: COPY failed: file not found in build context or excluded by \.dockerignore/,
    );
    // A symlink of the context is resolved inside it: /etc/hostname here is CONTEXT/etc/hostname.
    await Deno.symlink("/etc/hostname", `${ctx}/escape`);
    await Deno.writeTextFile(`${ctx}/other`, "FROM busybox\nCOPY escape /x\n");
    const out = await tsbox(["build", "--network", "none", "-f", `${ctx}/other`, ctx], { root });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /other:2: COPY failed: file not found in build context/);
    await Deno.mkdir(`${ctx}/etc`);
    await Deno.writeTextFile(`${ctx}/etc/hostname`, "the context's\n");
    await tsbox(["build", "--network", "none", "-t", "inside", "-f", `${ctx}/other`, ctx], {
      root,
      expect: 0,
    });
    assert.equal(await sh(root, "inside", "cat /x"), "the context's\n");
  });
});

rootTest(
  "heredocs: RUN scripts, #! scripts, several at once, COPY with and without expansion",
  async (root) => {
    await withContext({
      Dockerfile: [
        "FROM busybox",
        "ENV WHO=world",
        "RUN <<EOF",
        "echo one > /one",
        "echo two >> /one",
        "EOF",
        "RUN <<EOF",
        "#!/bin/sh",
        'echo "shebang $WHO" > /two',
        "EOF",
        "RUN cat <<A > /three && cat <<B >> /three",
        "from A $WHO",
        "A",
        "from B",
        "B",
        "RUN <<-EOF",
        "\techo tabbed > /four",
        "\tEOF",
        "COPY <<EOF <<'RAW' /files/",
        "hello $WHO",
        "EOF",
        "hello $WHO",
        "RAW",
        "",
      ].join("\n"),
    }, async (ctx) => {
      await build(root, ["-t", "here", ctx]);
      assert.equal(
        await sh(root, "here", "cat /one /two /three /four /files/EOF /files/RAW"),
        "one\ntwo\nshebang world\nfrom A world\nfrom B\ntabbed\nhello world\nhello $WHO\n",
      );
    });
  },
);

rootTest("ARG and ENV substitution: the reference's examples", async (root) => {
  await withContext({
    Dockerfile: [
      "ARG VERSION=latest",
      "FROM busybox:$VERSION",
      "ARG VERSION",
      "RUN echo $VERSION > /image_version",
      "ENV FOO=/bar",
      "WORKDIR ${FOO}",
      "ADD . $FOO",
      "COPY \\$FOO /quux",
      "ENV abc=hello",
      "ENV abc=bye def=$abc",
      "ENV ghi=$abc",
      "USER ${username:-some_user}",
      "ARG username",
      "USER $username",
      "ARG CONT_IMG_VER",
      "ENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}",
      "ENV PLUS=${abc:+set} EMPTY=${nothing:+set}",
      "USER 0",
      "RUN echo $CONT_IMG_VER $PLUS > /env_values",
      "",
    ].join("\n"),
    $FOO: "literal dollar file\n",
  }, async (ctx) => {
    await build(root, [
      "-t",
      "subst",
      "--build-arg",
      "username=what_user",
      "--build-arg",
      "CONT_IMG_VER=v2.0.1",
      ctx,
    ]);
    const c = (await inspect(root, "subst")).Config;
    assert.equal(c.WorkingDir, "/bar");
    assert.equal(c.User, "0");
    for (
      const kv of ["def=hello", "ghi=bye", "abc=bye", "CONT_IMG_VER=v2.0.1", "PLUS=set", "EMPTY="]
    ) {
      assert.ok(c.Env.includes(kv), `${kv} in ${c.Env}`);
    }
    assert.equal(
      await sh(root, "subst", "cat /image_version /quux /env_values && ls /bar/Dockerfile"),
      "latest\nliteral dollar file\nv2.0.1 set\n/bar/Dockerfile\n",
    );
    const hist = await tsbox(["history", "--no-trunc", "subst"], { root, expect: 0 });
    assert.match(hist.stdout, /USER some_user/);
    assert.match(hist.stdout, /USER what_user/);
  });
});

rootTest(
  "cache: a rebuild reuses every step; a changed file or build arg rebuilds from its step",
  async (root) => {
    await withContext({
      Dockerfile: [
        "FROM busybox",
        "RUN echo base > /base",
        "COPY one.txt /one.txt",
        "ARG MODE=a",
        "RUN echo $MODE > /mode",
        "COPY two.txt /two.txt",
        'CMD ["cat", "/one.txt"]',
        "",
      ].join("\n"),
      "one.txt": "1\n",
      "two.txt": "2\n",
    }, async (ctx) => {
      const first = await build(root, ["-t", "cached", ctx]);
      assert.doesNotMatch(first.stdout, /Using cache/);
      const id = (await inspect(root, "cached")).Id;
      const again = await build(root, ["-t", "cached", ctx]);
      assert.equal(again.stdout.match(/---> Using cache/g)?.length, 6);
      assert.equal((await inspect(root, "cached")).Id, id);
      // Only the content counts: the same bytes with a new time still hit.
      await Deno.utime(`${ctx}/one.txt`, new Date(), new Date(Date.now() + 5000));
      assert.equal((await build(root, [ctx])).stdout.match(/---> Using cache/g)?.length, 6);
      await Deno.writeTextFile(`${ctx}/two.txt`, "2 changed\n");
      const changed = await build(root, ["-t", "cached", ctx]);
      const steps = changed.stdout.split(/^Step /m).slice(1);
      assert.deepEqual(steps.map((s) => s.includes("Using cache")), [
        false,
        true,
        true,
        true,
        true,
        false,
        false,
      ]);
      const arg = await build(root, ["-t", "cached", "--build-arg", "MODE=b", ctx]);
      // The ARG step hits; the first step that uses it (every RUN after an ARG does) misses.
      assert.deepEqual(
        arg.stdout.split(/^Step /m).slice(1).map((s) => s.includes("Using cache")),
        [false, true, true, true, false, false, false],
      );
      assert.equal(await sh(root, "cached", "cat /mode /two.txt"), "b\n2 changed\n");
      const nocache = await build(root, ["--no-cache", ctx]);
      assert.doesNotMatch(nocache.stdout, /Using cache/);
    });
  },
);

rootTest("a context on stdin (a tar archive, or a lone Dockerfile), and -q", async (root) => {
  await withContext({ Dockerfile: "FROM busybox\nCOPY f /f\n", f: "from tar\n" }, async (ctx) => {
    const tar = await new Deno.Command("tar", {
      args: ["-C", ctx, "-czf", "-", "."],
      stdout: "piped",
    })
      .output();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-all",
        new URL("../main.ts", import.meta.url).pathname,
        "build",
        "--network",
        "none",
        "-q",
        "-t",
        "fromtar",
        "-",
      ],
      env: { TSBOX_ROOT: root },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(tar.stdout);
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(await sh(root, "fromtar", "cat /f"), "from tar\n");
    const lone = await tsbox(["build", "--network", "none", "-q", "-t", "lone", "-"], {
      root,
      stdin: "FROM busybox\nENV LONE=1\n",
      expect: 0,
    });
    assert.match(lone.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.ok((await inspect(root, "lone")).Config.Env.includes("LONE=1"));
  });
});

rootTest("bad Dockerfiles: file and line, exit 1, no image or container left", async (root) => {
  const before = await leftovers(root);
  const cases: [string, RegExp][] = [
    [
      "FROM busybox\nRUN true\n\nRUNN echo\n",
      /^tsbox: Dockerfile:4: unknown instruction: RUNN \(did you mean RUN\?\)$/m,
    ],
    [
      "FROM busybox\nCOPY nothing-here /x\n",
      /Dockerfile:2: COPY failed: file not found in build context/,
    ],
    [
      "FROM busybox\nCOPY *.none /x/\n",
      /Dockerfile:2: COPY failed: no source files were specified/,
    ],
    ["FROM busybox\nENV A=${B:?required}\n", /Dockerfile:2: .*B: required/],
    ["RUN true\n", /Dockerfile:1: no build stage in current context/],
    ["FROM busybox\nEXPOSE 80/bogus\n", /Dockerfile:2: invalid proto: bogus/],
    ["FROM busybox\nCOPY a b c\n", /Dockerfile:2: When using COPY with more than one source file/],
    // A registry that is not there (on loopback: tests send no packet elsewhere).
    ["FROM 127.0.0.1:1/no-such-image:1\n", /Dockerfile:1: /],
    ["FROM busybox\nHEALTHCHECK CMD\n", /Dockerfile:2: Missing command after HEALTHCHECK CMD/],
  ];
  for (const [text, want] of cases) {
    await withContext({ Dockerfile: text, a: "", b: "" }, async (ctx) => {
      const r = await tsbox(["build", "--network", "none", "-t", "bad", ctx], { root });
      assert.equal(r.code, 1, `${text}: ${r.stderr}`);
      assert.match(r.stderr, want);
    });
  }
  assert.deepEqual(await leftovers(root), before);
});

rootTest(
  "steps that change nothing add no layer; proxy build args reach RUN, not the image",
  async (root) => {
    await withContext({
      Dockerfile: "FROM busybox\nRUN true\nWORKDIR /tmp\nENV X=1\nRUN echo $HTTP_PROXY > /proxy\n",
    }, async (ctx) => {
      await build(root, [
        "-t",
        "quiet-steps",
        "--build-arg",
        "HTTP_PROXY=http://proxy.invalid:3128",
        ctx,
      ]);
      const img = await inspect(root, "quiet-steps");
      const base = await inspect(root, "busybox");
      assert.equal(img.RootFS.Layers.length, base.RootFS.Layers.length + 1);
      assert.equal(await sh(root, "quiet-steps", "cat /proxy"), "http://proxy.invalid:3128\n");
      assert.ok(!img.Config.Env.some((e) => e.startsWith("HTTP_PROXY")));
      const hist = await tsbox(["history", "--no-trunc", "quiet-steps"], { root, expect: 0 });
      assert.doesNotMatch(hist.stdout, /proxy\.invalid/);
    });
  },
);

rootTest(
  "RUN --mount: a cache kept between builds, a read-only bind of the context, a tmpfs",
  async (root) => {
    await withContext({
      "data/f": "from the context\n",
      Dockerfile: [
        "FROM busybox",
        "RUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /count",
        "RUN --mount=type=bind,source=data,target=/data cat /data/f > /copied && ! touch /data/f",
        "RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs-list",
        "",
      ].join("\n"),
    }, async (ctx) => {
      await build(root, ["-t", "mounts", ctx]);
      await build(root, ["-t", "mounts", "--no-cache", ctx]);
      assert.equal(
        await sh(
          root,
          "mounts",
          "cat /count /copied /tmpfs-list; ls -d /data /scratch /var/cache/app 2>&1 | wc -l",
        ),
        "2\nfrom the context\nx\n3\n",
      );
      assert.match(
        await sh(root, "mounts", "ls /data /scratch /var/cache/app 2>&1 || true"),
        /No such file/,
      );
      const p = await tsbox(["builder", "prune", "-f"], { root, expect: 0 });
      assert.match(p.stdout, /Total reclaimed space/);
      await build(root, ["-t", "mounts", "--no-cache", ctx]);
      assert.equal(await sh(root, "mounts", "cat /count"), "1\n");
    });
  },
);

rootTest(
  "a failing RUN says its exit code and leaves no container or half-made image",
  async (root) => {
    await withContext({
      Dockerfile: "FROM busybox\nRUN echo kept > /kept\nRUN echo partial > /partial && exit 3\n",
    }, async (ctx) => {
      const r = await tsbox(["build", "--network", "none", "-t", "fails", ctx], { root });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /Dockerfile:3: process "\/bin\/sh -c echo partial > \/partial && exit 3" did not complete successfully: exit code: 3/,
      );
      assert.match(r.stdout, /Removing intermediate container [0-9a-f]{12}\n$/);
      const left = await leftovers(root);
      assert.deepEqual(left.containers, []);
      assert.doesNotMatch((await tsbox(["images"], { root, expect: 0 })).stdout, /fails|<none>/);
      // The step that succeeded is cached; nothing of the failed one was kept.
      const again = await tsbox(["build", "--network", "none", ctx], { root });
      assert.match(again.stdout, /Step 2\/3 : RUN echo kept > \/kept\n ---> Using cache/);
    });
  },
);

rootTest("builder prune empties the cache; system df shows it", async (root) => {
  await withContext(
    { Dockerfile: "FROM busybox\nRUN echo x > /x\nCOPY f /f\nENV A=1\n", f: "f\n" },
    async (ctx) => {
      await build(root, [ctx]);
      const df = await tsbox(["system", "df"], { root, expect: 0 });
      assert.match(df.stdout, /^Build Cache\s+3\s+0\s+/m);
      const p = await tsbox(["builder", "prune", "-f"], { root, expect: 0 });
      assert.match(p.stdout, /Total reclaimed space: /);
      assert.match(
        (await tsbox(["system", "df"], { root, expect: 0 })).stdout,
        /^Build Cache\s+0\s+0\s+0B/m,
      );
      const again = await build(root, [ctx]);
      assert.doesNotMatch(again.stdout, /Using cache/);
    },
  );
});
