// Test helper (not product code): a temp-dir stand-in for cgroupfs. Plain
// files play the control files a real group directory would have, so driver
// logic can be unit-tested without root. Writes with O_TRUNC replace a file;
// command writes (O_APPEND) accumulate one line each, so tests see their order.

/** A temp dir with `files` (path -> content) created under it; returns its path. */
export function makeFixture(files: Record<string, string>): string {
  const root = Deno.makeTempDirSync({ prefix: "tsbox-cgfixture-" });
  addFiles(root, files);
  return root;
}

/** Creates `files` (path -> content) under `root`; a path ending in "/" is a directory. */
export function addFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = `${root}/${path}`;
    if (path.endsWith("/")) {
      Deno.mkdirSync(full, { recursive: true });
      continue;
    }
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(full, content);
  }
}

/** Content of `root/path`. */
export function read(root: string, path: string): string {
  return Deno.readTextFileSync(`${root}/${path}`);
}

/** Removes the fixture. */
export function removeFixture(root: string): void {
  Deno.removeSync(root, { recursive: true });
}
