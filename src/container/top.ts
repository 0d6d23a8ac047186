// The processes of a container: every process in its init's PID namespace
// (or descendants of the init when the namespace is the host's), from /proc
// as ps(1) reads it (proc(5): stat fields 4 ppid, 7 tty, 14-15 times, 22 start).

import type { ContainerRecord } from "../state/containers.ts";
import { checkTransition } from "./state_machine.ts";

/** One process, in `ps -ef` columns. */
export interface ProcessRow {
  uid: string;
  pid: number;
  ppid: number;
  stime: string;
  tty: string;
  time: string;
  cmd: string;
}

const HZ = 100;

function bootTimeMs(): number {
  const stat = Deno.readTextFileSync("/proc/stat");
  return Number(stat.match(/^btime (\d+)/m)?.[1] ?? 0) * 1000;
}

function userName(uid: number): string {
  try {
    const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
      l.split(":")[2] === String(uid)
    );
    return line?.split(":")[0] ?? String(uid);
  } catch {
    return String(uid);
  }
}

/** The processes of a running container: those sharing its init's PID namespace, by pid. */
export function containerProcesses(rec: ContainerRecord): ProcessRow[] {
  checkTransition("top", rec);
  const initPid = rec.pid!;
  const ns = Deno.readLinkSync(`/proc/${initPid}/ns/pid`);
  const own = Deno.readLinkSync("/proc/self/ns/pid");
  const boot = bootTimeMs();
  const all: { pid: number; ppid: number; stat: string[]; cmd: string; uid: number }[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (ns !== own && Deno.readLinkSync(`/proc/${e.name}/ns/pid`) !== ns) continue;
      const raw = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const comm = raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")"));
      const stat = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
      const cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0").filter(Boolean)
        .join(" ");
      const uid = Number(
        Deno.readTextFileSync(`/proc/${e.name}/status`).match(/^Uid:\s+(\d+)/m)?.[1] ?? 0,
      );
      all.push({
        pid: Number(e.name),
        ppid: Number(stat[1]),
        stat,
        cmd: cmdline || `[${comm}]`,
        uid,
      });
    } catch { /* exited meanwhile */ }
  }
  let procs = all;
  if (ns === own) {
    // Host PID namespace: the init and its descendants.
    const keep = new Set([initPid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const p of all) if (!keep.has(p.pid) && keep.has(p.ppid)) (keep.add(p.pid), grew = true);
    }
    procs = all.filter((p) => keep.has(p.pid));
  }
  return procs.sort((a, b) => a.pid - b.pid).map((p) => {
    const start = new Date(boot + (Number(p.stat[19]) / HZ) * 1000);
    const cpu = Math.floor((Number(p.stat[11]) + Number(p.stat[12])) / HZ);
    const tty = Number(p.stat[4]);
    return {
      uid: userName(p.uid),
      pid: p.pid,
      ppid: p.ppid,
      stime: start.toTimeString().slice(0, 5),
      tty: tty === 0 ? "?" : `pts/${tty & 0xff}`,
      time: [Math.floor(cpu / 3600), Math.floor(cpu / 60) % 60, cpu % 60].map((n) =>
        String(n).padStart(2, "0")
      ).join(":"),
      cmd: p.cmd,
    };
  });
}
