// Finds a container's executable in its root filesystem before the clone, as
// runc's create does (exec.LookPath in the container's root): a missing
// command is an error of `create`, not a process that dies after `start`.
// Paths are resolved by the kernel inside the root (openat2 RESOLVE_IN_ROOT,
// src/mount/securejoin.ts), so an image's symlinks cannot point outside it.
// The mounts the child makes itself (proc, sysfs, ...) do not exist yet;
// executables do not live there.

import { O, S_IFMT, S_IFREG } from "../../ffi/constants.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { ExitCode, TsboxError } from "../errors.ts";
import { openInRoot } from "../mount/securejoin.ts";
import type { Process } from "../spec/types.ts";
import { execCandidates } from "./init_plan.ts";

const q = JSON.stringify;

/** st_mode of an fd (fstat). */
function mode(fd: number): number {
  const st = new Uint8Array(144);
  sys("fstat", [fd, st]);
  return new DataView(st.buffer).getUint32(24, true);
}

/** Joins a relative command ("./run") with the working directory. */
function absolute(cmd: string, cwd: string): string {
  return cmd.startsWith("/") ? cmd : `${cwd.replace(/\/+$/, "")}/${cmd}`;
}

/**
 * The path of `proc.args[0]` inside the root mounted at `root`: itself when it
 * has a slash, else the first PATH entry (of proc.env) holding an executable
 * regular file. Throws TsboxError (exit code 127) when there is none, 126
 * when the file is not executable. Must run where `root` is mounted (the
 * staging namespace).
 */
export function resolveExecutable(root: string, proc: Process): string {
  const cmd = proc.args[0] ?? "";
  if (!cmd) throw new TsboxError("process.args is empty");
  const path = (proc.env ?? []).find((e) => e.startsWith("PATH="))?.slice(5) ?? "";
  const candidates = cmd.includes("/")
    ? [absolute(cmd, proc.cwd || "/")]
    : execCandidates(cmd, path.split(":").filter(Boolean));
  const rootFd = sys("open", [root, O.PATH | O.DIRECTORY | O.CLOEXEC], q(root));
  let notExecutable: string | undefined;
  try {
    for (const c of candidates) {
      let fd: number;
      try {
        fd = openInRoot(rootFd, c, O.PATH);
      } catch {
        continue;
      }
      try {
        const m = mode(fd);
        if ((m & S_IFMT) !== S_IFREG) continue;
        if ((m & 0o111) === 0) {
          notExecutable ??= c;
          continue;
        }
        return c;
      } finally {
        sysRaw("close", [fd]);
      }
    }
  } finally {
    sysRaw("close", [rootFd]);
  }
  if (notExecutable) {
    throw new TsboxError(`exec ${q(cmd)}: ${q(notExecutable)} is not executable`, {
      exitCode: ExitCode.CANNOT_EXECUTE,
    });
  }
  throw new TsboxError(
    cmd.includes("/")
      ? `exec ${q(cmd)}: no such file or directory`
      : `exec ${q(cmd)}: executable file not found in $PATH`,
    { exitCode: ExitCode.NOT_FOUND },
  );
}
