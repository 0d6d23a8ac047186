// Starting a created container, the same way for `run`, `run -d`, `start`
// and restart policies: its cgroup and network are prepared (recorded as
// resources before they exist), the executor clones the container's first
// process, and while it waits the parent places it in its cgroup and wires
// its network. Then the record says "running".

import { faultPoint } from "../faults.ts";
import { startContainer, type Started, type Stdio } from "../runtime/executor.ts";
import type { Tracer } from "../runtime/trace.ts";
import { addResource, removeResource, updateContainer } from "../state/containers.ts";
import { now } from "../state/db.ts";
import { emitEvent } from "../state/events.ts";
import { wiresNetwork } from "../spec/config.ts";
import { prepareCgroup } from "./cgroup.ts";
import type { Created } from "./create.ts";
import { bootId, processStartTime } from "./proc.ts";
import { saveTrace } from "./trace_file.ts";

/** Resource kind naming the tsbox process that is starting a container. */
export const STARTER = "starter";

/** Starts a created (or stopped) container; returns its running process. */
export async function startCreated(c: Created, stdio: Stdio, trace: Tracer): Promise<Started> {
  // Who is starting it: if this process dies midway, `ps` and `inspect` can say so.
  addResource(c.record.id, STARTER, String(Deno.pid), { start: processStartTime(Deno.pid) });
  try {
    return await startSteps(c, stdio, trace);
  } finally {
    removeResource(c.record.id, STARTER, String(Deno.pid));
    if (trace.enabled) saveTrace(c.dir, trace.records); // the last --trace run, for `tsbox ui`
  }
}

async function startSteps(c: Created, stdio: Stdio, trace: Tracer): Promise<Started> {
  faultPoint("after-state");
  const cgroup = prepareCgroup(c, trace);
  faultPoint("after-cgroup");
  // Netlink and nftables are loaded only for containers that get a network of their own.
  const network = wiresNetwork(c.record.config)
    ? await (await import("../net/attach.ts")).prepareNetwork(c, trace)
    : undefined;
  faultPoint("after-network");
  const started = await startContainer({
    spec: c.spec,
    mountPoint: `${c.dir}/rootfs`,
    rootfs: c.rootfs,
    scratchDir: `${c.dir}/idmap`,
    stdio,
    trace,
    ...(cgroup?.dirFd !== undefined ? { cgroupFd: cgroup.dirFd } : {}),
    cgroupTasks: cgroup?.selfJoin ?? [],
    mountCgroup2: cgroup?.mountCgroup2 ?? false,
    setup: async (child) => {
      // Recorded before the child runs a single instruction of its own, so a
      // crash from here on leaves a pid that `ps` and `rm -f` can find.
      updateContainer(c.record.id, {
        pid: child.pid,
        pidStart: processStartTime(child.pid),
        bootId: bootId(),
      });
      // Only when clone3 could not start it in its cgroup2 group (old kernels).
      if (cgroup && cgroup.dirFd !== undefined && !child.inCgroup) {
        trace.run(`place ${child.pid} in cgroup ${cgroup.path}`, () => cgroup.place(child.pid));
      }
      if (network) await network.attach(child, trace);
      faultPoint("before-start");
    },
  });
  cgroup?.close();
  updateContainer(c.record.id, {
    status: "running",
    startedAt: now(),
    exitCode: null,
    error: null,
    oomKilled: false,
  });
  emitEvent("start", c.record.id, { name: c.record.name, image: c.record.image });
  return started;
}
