// The working directory of a container's process, checked before anything
// starts. Paths under /proc/self, /proc/thread-self and /proc/PID hold magic
// links (fd/N, cwd, root, task/N/fd/N) that name files of a process instead
// of a place in the container's tree: as a working directory they are how
// runc's CVE-2024-21626 reached the host. tsbox refuses them here with a
// clear message; the child resolves every working directory with magic links
// refused and checks it with getcwd(2) (steps.ts "chdir"), which also covers
// a symlink in an image that points there.

import { UsageError } from "../errors.ts";

/** `path` with "." and ".." resolved lexically and repeated slashes squeezed ("/a/./b/.." -> "/a"). */
export function normalizeAbsolute(path: string): string {
  const out: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return `/${out.join("/")}`;
}

/**
 * Throws UsageError unless `path` is an absolute path outside the
 * per-process directories of /proc.
 *
 * @example
 * checkWorkdir("/app");              // ok
 * checkWorkdir("/proc/self/fd/7");   // throws
 */
export function checkWorkdir(path: string): void {
  const q = JSON.stringify(path);
  if (!path.startsWith("/")) {
    throw new UsageError(`the working directory ${q} is invalid: it needs to be an absolute path`);
  }
  const parts = normalizeAbsolute(path).split("/");
  if (parts[1] === "proc" && /^(self|thread-self|\d+)$/.test(parts[2] ?? "")) {
    throw new UsageError(
      `the working directory ${q} is refused: /proc/${
        parts[2]
      } holds links to files of processes, outside the container's tree`,
    );
  }
}
