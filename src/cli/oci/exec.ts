// tsbox-runc exec: run a new process in a running container (runc exec),
// from --process P.json or from the container's own process with new args.

import { execInContainer } from "../../container/oci/ops.ts";
import { UsageError } from "../../errors.ts";
import type { Process } from "../../spec/types.ts";
import { bool, type FlagDef, formatHelp, int, list, parseFlags, str } from "../flags.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

const FLAGS: FlagDef[] = [
  { name: "process", short: "p", type: "string", value: "FILE", help: "process.json to run" },
  { name: "detach", short: "d", type: "bool", help: "do not wait for the process" },
  { name: "pid-file", type: "string", value: "FILE", help: "write the process's host pid there" },
  { name: "console-socket", type: "string", value: "PATH", help: "send the pty master there" },
  { name: "tty", short: "t", type: "bool", help: "allocate a pseudo-terminal" },
  { name: "cwd", type: "string", value: "DIR", help: "working directory" },
  { name: "env", short: "e", type: "list", value: "K=V", help: "add an environment variable" },
  { name: "user", short: "u", type: "string", value: "UID[:GID]", help: "user to run as" },
  { name: "additional-gids", short: "g", type: "list", value: "GID", help: "add a group" },
  { name: "cap", short: "c", type: "list", value: "CAP", help: "add a capability" },
  { name: "no-new-privs", type: "bool", help: "set no_new_privs" },
  { name: "preserve-fds", type: "int", value: "N", help: "pass fds 3..3+N-1" },
  { name: "apparmor", type: "string", value: "PROFILE", help: "ignored (no AppArmor)" },
  { name: "process-label", type: "string", value: "LABEL", help: "ignored (no SELinux)" },
  { name: "cgroup", type: "string", value: "PATH", help: "ignored (the container's cgroup)" },
  { name: "ignore-paused", type: "bool", help: "ignored" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];
const HELP = formatHelp(
  "runtime exec [OPTIONS] ID [COMMAND [ARG...]]",
  "Run a process in a running container.",
  ["tsbox-runc exec box ps", "tsbox-runc exec --process p.json -d --pid-file p box"],
  FLAGS,
);

function parseUser(u: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(u);
  if (!m) throw new UsageError(`invalid --user ${JSON.stringify(u)}: use UID[:GID]`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

/** The process to run: --process, or the container's with the flags' changes. */
function buildProcess(base: Process, flags: Record<string, unknown>, args: string[]): Process {
  const file = str(flags as never, "process");
  if (file) {
    const p = JSON.parse(Deno.readTextFileSync(file)) as Process;
    if (!p.args?.length) throw new UsageError(`${file}: process.args is empty`);
    return p;
  }
  if (!args.length) throw new UsageError("exec needs a command (or --process)");
  const p: Process = { ...base, args, terminal: bool(flags as never, "tty") };
  const env = list(flags as never, "env");
  if (env.length) p.env = [...(base.env ?? []), ...env];
  const cwd = str(flags as never, "cwd");
  if (cwd) p.cwd = cwd;
  const user = str(flags as never, "user");
  if (user) p.user = { ...parseUser(user) };
  const gids = list(flags as never, "additional-gids").map(Number);
  if (gids.length) p.user = { ...p.user, additionalGids: gids };
  const caps = list(flags as never, "cap");
  if (caps.length) {
    const c = { ...base.capabilities };
    for (const set of ["bounding", "effective", "permitted", "ambient"] as const) {
      c[set] = [...new Set([...(c[set] ?? []), ...caps])];
    }
    p.capabilities = c;
  }
  if (bool(flags as never, "no-new-privs")) p.noNewPrivileges = true;
  delete p.consoleSize;
  return p;
}

/** Entry point of `tsbox-runc exec`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("exec", args, FLAGS);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  const [id, ...cmd] = positionals;
  if (!id) throw new UsageError(`"exec" requires the container id`);
  const consoleSocket = str(flags, "console-socket");
  const pidFile = str(flags, "pid-file");
  return await execInContainer(ociContext(g), id, {
    process: (base) => buildProcess(base, flags, cmd),
    preserveFds: int(flags, "preserve-fds") ?? 0,
    detach: bool(flags, "detach"),
    ...(consoleSocket ? { consoleSocket } : {}),
    ...(pidFile ? { pidFile } : {}),
  });
}
