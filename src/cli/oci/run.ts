// tsbox-runc run: create and start a container; without --detach, wait for
// its init (a child of this process), relay its terminal when it has one and
// no console socket was given, then delete it and exit with its status.

import { relayConsole } from "../../runtime/console.ts";
import { waitPidfd } from "../../runtime/process.ts";
import { sysRaw } from "../../../ffi/syscall.ts";
import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp } from "../flags.ts";
import { CREATE_FLAGS, createOptions } from "./create.ts";
import { deleteContainer, load, startCreated } from "./engine.ts";
import { createContainer } from "./engine_create.ts";
import type { GlobalOptions } from "./log.ts";
import { withLock } from "./store.ts";

const FLAGS: FlagDef[] = [
  { name: "detach", short: "d", type: "bool", help: "do not wait for the container's process" },
  { name: "keep", type: "bool", help: "do not delete the container after it exits" },
  ...CREATE_FLAGS,
];
const HELP = formatHelp(
  "runtime run [OPTIONS] ID",
  "Create and start a container; wait for it unless --detach.",
  ["tsbox-runc run --bundle /b box", "tsbox-runc run -d --bundle /b --pid-file /b/pid box"],
  FLAGS,
);

/** Entry point of `tsbox-runc run`. */
export async function main(g: GlobalOptions, args: string[]): Promise<number> {
  const o = createOptions(g, "run", args, FLAGS);
  if (o.help) {
    console.log(HELP);
    return 0;
  }
  const detach = bool(o.flags, "detach");
  if (o.req.consoleSocket && !detach) {
    throw new UsageError("cannot use console socket if runtime will not detach");
  }
  const created = await createContainer(g, o.req);
  await withLock(g.root, o.req.id, () => startCreated(g, load(g, o.req.id)));
  if (detach) return 0;
  const relay = created.console !== undefined ? relayConsole(created.console) : undefined;
  const forward = (sig: Deno.Signal, n: number) => {
    const h = () => sysRaw("pidfd_send_signal", [created.pidfd, n, null, 0]);
    Deno.addSignalListener(sig, h);
    return () => Deno.removeSignalListener(sig, h);
  };
  const undo = [forward("SIGTERM", 15), forward("SIGINT", 2), forward("SIGHUP", 1)];
  try {
    const status = await waitPidfd(created.pidfd);
    if (relay) {
      await relay.done;
      relay.restore();
    }
    if (!bool(o.flags, "keep")) {
      await withLock(g.root, o.req.id, () => deleteContainer(g, load(g, o.req.id), true));
    }
    return status.code;
  } finally {
    for (const u of undo) u();
  }
}
