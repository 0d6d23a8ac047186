// Starting a created container, the same way for `run`, `run -d`, `start`
// and restart policies: its cgroup and network are prepared (recorded as
// resources before they exist), the executor clones the container's first
// process, and while it waits the parent places it in its cgroup and wires
// its network. Then the record says "running".

import { startContainer, type Started } from "../runtime/executor.ts";
import type { Tracer } from "../runtime/trace.ts";
import { updateContainer } from "../state/containers.ts";
import { now } from "../state/db.ts";
import { prepareNetwork } from "../net/attach.ts";
import { prepareCgroup } from "./cgroup.ts";
import type { Created } from "./create.ts";
import { bootId, processStartTime } from "./proc.ts";

/** How the container's stdio is connected. */
export interface StartIO {
  /** Give it our stdin (-i); otherwise /dev/null (ignored with a terminal). */
  attachStdin: boolean;
}

/** Starts a created (or stopped) container; returns its running process. */
export async function startCreated(c: Created, io: StartIO, trace: Tracer): Promise<Started> {
  const cgroup = prepareCgroup(c, trace);
  const network = await prepareNetwork(c, trace);
  const started = await startContainer({
    spec: c.spec,
    mountPoint: `${c.dir}/rootfs`,
    rootfs: c.rootfs,
    scratchDir: `${c.dir}/idmap`,
    attachStdin: io.attachStdin,
    trace,
    ...(cgroup?.dirFd !== undefined ? { cgroupFd: cgroup.dirFd } : {}),
    mountCgroup2: cgroup?.mountCgroup2 ?? false,
    setup: async (child) => {
      if (cgroup && !child.inCgroup) {
        trace.run(`place ${child.pid} in cgroup ${cgroup.path}`, () => cgroup.place(child.pid));
      }
      if (network) await network.attach(child, trace);
    },
  });
  cgroup?.close();
  updateContainer(c.record.id, {
    status: "running",
    pid: started.pid,
    pidStart: processStartTime(started.pid),
    bootId: bootId(),
    startedAt: now(),
    exitCode: null,
    error: null,
  });
  return started;
}
