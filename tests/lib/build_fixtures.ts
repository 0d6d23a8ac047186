// Base images for the `tsbox build` tests and benchmark, made by independent
// tools and cached under .cache/build-debian/<hash of this file>/: Debian
// bookworm root filesystems from debootstrap (minbase + python3; minbase +
// gcc and libc6-dev), each tarred by GNU tar into two layers and assembled
// by umoci into one OCI layout (tags "python" and "gcc"), which skopeo
// copies into a test registry. Also a tiny .deb (dpkg-deb) that the Python
// app's Dockerfile installs.

import { host } from "./harness.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** Bump when the way the images are made changes (the cache is keyed by the recipe). */
const RECIPE_VERSION = 1;

async function recipeHash(): Promise<string> {
  const text = JSON.stringify({ v: RECIPE_VERSION, IMAGES, MIRROR });
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...h.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const MIRROR = "http://deb.debian.org/debian";

/** Packages of each image, besides minbase. */
const IMAGES: Record<string, { include: string; cmd: string[]; split: string }> = {
  python: { include: "python3", cmd: ["python3"], split: "./usr/lib/python3.11" },
  gcc: { include: "gcc,libc6-dev", cmd: ["bash"], split: "./usr/lib/gcc" },
};

async function bootstrap(rootfs: string, include: string): Promise<void> {
  await Deno.remove(rootfs, { recursive: true }).catch(() => {});
  await host("debootstrap", [
    "--variant=minbase",
    `--include=${include}`,
    "bookworm",
    rootfs,
    MIRROR,
  ]);
  // What a container image does not carry: apt lists and caches, logs.
  await host("sh", [
    "-c",
    `rm -rf ${rootfs}/var/lib/apt/lists/* ${rootfs}/var/cache/apt/*.bin ${rootfs}/var/cache/apt/archives/*.deb ${rootfs}/var/log/*.log`,
  ]);
}

/**
 * The OCI layout with the "python" and "gcc" images (built once with
 * debootstrap, minutes; then cached). Needs root and the apt mirror.
 */
export async function debianLayout(): Promise<string> {
  const dir = `${repo}.cache/build-debian/${await recipeHash()}`;
  try {
    Deno.statSync(`${dir}/done`);
    return `${dir}/layout`;
  } catch { /* build */ }
  await Deno.mkdir(dir, { recursive: true });
  const L = `${dir}/layout`;
  await Deno.remove(L, { recursive: true }).catch(() => {});
  await host("umoci", ["init", "--layout", L]);
  for (const [tag, spec] of Object.entries(IMAGES)) {
    const rootfs = `${dir}/${tag}-rootfs`;
    await bootstrap(rootfs, spec.include);
    await host("umoci", ["new", "--image", `${L}:${tag}`]);
    const layers: [string, string[]][] = [
      ["base", [`--exclude=${spec.split}`, "."]],
      ["top", [spec.split]],
    ];
    for (const [name, what] of layers) {
      const tar = `${dir}/${tag}-${name}.tar`;
      await host("tar", ["--xattrs", "--numeric-owner", "-C", rootfs, "-cf", tar, ...what]);
      await host("umoci", ["raw", "add-layer", "--image", `${L}:${tag}`, tar]);
      await Deno.remove(tar);
    }
    await host("umoci", [
      "config",
      "--image",
      `${L}:${tag}`,
      "--config.env",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ...spec.cmd.flatMap((c) => ["--config.cmd", c]),
    ]);
    await Deno.remove(rootfs, { recursive: true });
  }
  await host("umoci", ["gc", "--layout", L]);
  await Deno.writeTextFile(`${dir}/done`, "");
  return L;
}

/** Copies the Debian images into a registry as HOST/debian-python:12 and HOST/debian-gcc:12. */
export async function pushDebian(registry: string): Promise<{ python: string; gcc: string }> {
  const L = await debianLayout();
  for (const tag of Object.keys(IMAGES)) {
    await host("skopeo", [
      "copy",
      "-q",
      "--dest-tls-verify=false",
      `oci:${L}:${tag}`,
      `docker://${registry}/debian-${tag}:12`,
    ]);
  }
  return { python: `${registry}/debian-python:12`, gcc: `${registry}/debian-gcc:12` };
}

/**
 * A .deb (made with dpkg-deb) holding a Python module `greeting` with
 * `hello(name)`, written to `path`.
 */
export async function greetingDeb(path: string): Promise<void> {
  const d = await Deno.makeTempDir({ prefix: "tsbox-deb-" });
  try {
    await Deno.mkdir(`${d}/DEBIAN`);
    await Deno.mkdir(`${d}/usr/lib/python3/dist-packages`, { recursive: true });
    await Deno.writeTextFile(
      `${d}/DEBIAN/control`,
      "Package: python3-greeting\nVersion: 1.0\nArchitecture: all\nMaintainer: tsbox tests <t@example.invalid>\nDescription: a greeting for the tsbox build tests\n",
    );
    await Deno.writeTextFile(
      `${d}/usr/lib/python3/dist-packages/greeting.py`,
      'def hello(name):\n    return "hello, " + name + " from a .deb\\n"\n',
    );
    await host("dpkg-deb", ["--root-owner-group", "--build", d, path]);
  } finally {
    await Deno.remove(d, { recursive: true });
  }
}

/** The Python web app: serves hello() of the greeting module from the .deb on $PORT. */
export const PY_APP = `import http.server, os, greeting

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = greeting.hello(os.environ.get("WHO", "nobody")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
`;

/** The Python app's Dockerfile on `base` (a Debian + python3 image). */
export function pythonAppDockerfile(base: string): string {
  return `FROM ${base}
WORKDIR /app
COPY python3-greeting.deb /tmp/
RUN dpkg -i /tmp/python3-greeting.deb && rm /tmp/python3-greeting.deb
COPY app.py .
ENV PORT=8000 WHO=tsbox
EXPOSE 8000
USER nobody
CMD ["python3", "app.py"]
`;
}

/** A C program, compiled statically in the multi-stage build. */
export const HELLO_C = `#include <stdio.h>
int main(int argc, char **argv) { printf("hello from C, %d args\\n", argc - 1); return 0; }
`;

/** The multi-stage Dockerfile: gcc on `gcc` (a Debian image), the binary alone in scratch. */
export function cProgramDockerfile(gcc: string): string {
  return `FROM ${gcc} AS build
WORKDIR /src
COPY hello.c .
RUN gcc -static -O2 -o /hello hello.c

FROM ${gcc} AS never-needed
RUN exit 42

FROM scratch
COPY --from=build /hello /hello
ENTRYPOINT ["/hello"]
CMD ["a", "b"]
`;
}

/** Writes a build context: a directory with these files. */
export async function writeContext(files: Record<string, string>): Promise<string> {
  const d = await Deno.makeTempDir({ prefix: "tsbox-build-ctx-" });
  for (const [p, text] of Object.entries(files)) {
    await Deno.mkdir(`${d}/${p}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${d}/${p}`, text);
  }
  return d;
}

/** The Python app's context (Dockerfile, app.py, the .deb). */
export async function pythonAppContext(base: string): Promise<string> {
  const d = await writeContext({ Dockerfile: pythonAppDockerfile(base), "app.py": PY_APP });
  await greetingDeb(`${d}/python3-greeting.deb`);
  return d;
}

/** The C program's context. */
export async function cProgramContext(gcc: string): Promise<string> {
  return await writeContext({ Dockerfile: cProgramDockerfile(gcc), "hello.c": HELLO_C });
}
