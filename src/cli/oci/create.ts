// tsbox-runc create: make a container from a bundle and leave its init
// waiting for `start` (runc create).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, int, parseFlags, str } from "../flags.ts";
import { loadBundle } from "./bundle.ts";
import { cgroupPathFor } from "../../container/oci/cgroup_path.ts";
import { createContainer, type CreateRequest } from "../../container/oci/create.ts";
import { checkId } from "../../container/oci/store.ts";
import { Tracer } from "../../runtime/trace.ts";
import { type GlobalOptions, ociContext } from "./log.ts";

/** Flags shared by create and run. */
export const CREATE_FLAGS: FlagDef[] = [
  {
    name: "bundle",
    short: "b",
    type: "string",
    value: "DIR",
    help: "bundle directory (default .)",
  },
  { name: "pid-file", type: "string", value: "FILE", help: "write the init's host pid there" },
  {
    name: "console-socket",
    type: "string",
    value: "PATH",
    help: "unix socket to send the pty master to (process.terminal)",
  },
  { name: "preserve-fds", type: "int", value: "N", help: "pass fds 3..3+N-1 to the container" },
  { name: "no-pivot", type: "bool", help: "accepted; tsbox always uses pivot_root" },
  { name: "no-new-keyring", type: "bool", help: "accepted; tsbox makes no session keyring" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];

const HELP = formatHelp(
  "runtime create [OPTIONS] ID",
  "Create a container from an OCI bundle; its process waits until `start`.",
  ["tsbox-runc create --bundle /b --pid-file /b/pid box"],
  CREATE_FLAGS,
);

/** Parsed create/run options. */
export function createOptions(g: GlobalOptions, verb: string, args: string[], defs: FlagDef[]) {
  const { flags, positionals } = parseFlags(verb, args, defs, true);
  if (bool(flags, "help")) return { help: true as const, flags };
  if (positionals.length !== 1) {
    throw new UsageError(`"${verb}" requires exactly 1 argument (the container id)`);
  }
  const id = checkId(positionals[0]);
  const preserveFds = int(flags, "preserve-fds") ?? 0;
  if (preserveFds < 0) throw new UsageError("--preserve-fds must not be negative");
  const { bundle, spec } = loadBundle(str(flags, "bundle"));
  const cgroupPath = cgroupPathFor(spec.linux?.cgroupsPath, id, g.systemdCgroup);
  const pidFile = str(flags, "pid-file");
  const consoleSocket = str(flags, "console-socket");
  if (consoleSocket && !spec.process?.terminal) {
    throw new UsageError("--console-socket given but process.terminal is false");
  }
  const req: CreateRequest = {
    id,
    bundle,
    spec,
    cgroupPath,
    preserveFds,
    ...(pidFile ? { pidFile } : {}),
    ...(consoleSocket ? { consoleSocket } : {}),
    ...(g.trace ? { trace: new Tracer(true) } : {}),
  };
  return { help: false as const, flags, req };
}

/** Entry point of `tsbox-runc create`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const o = createOptions(g, "create", args, CREATE_FLAGS);
  if (o.help) {
    console.log(HELP);
    return 0;
  }
  if (o.req.spec.process?.terminal && !o.req.consoleSocket) {
    throw new UsageError("process.terminal needs --console-socket with create");
  }
  await createContainer(ociContext(g), o.req);
  return 0;
}
