// The runtime's own executable, kept out of a container's reach (the class of
// runc CVE-2019-5736). A process tsbox clones runs the deno (or compiled
// tsbox) executable until its execve: its /proc/PID/exe names that file, and
// so does /proc/self/exe when its execve runs a `#!/proc/self/exe` script. A
// handle on it could be reopened for writing once no tsbox process runs it.
//
// Two defences, both set up here and carried out by the child's syscall
// program (steps.ts "hide-exe"; ffi/spawn.ts for the first):
//  - the child is not dumpable from its first instruction (PR_SET_DUMPABLE 0
//    in the parent around clone, inherited until execve), so no process of
//    the container may open its /proc/PID/{exe,fd,cwd,root,mem}
//    (ptrace access mode checks, proc(5));
//  - the child unmaps every mapping of the executable, then points its
//    /proc/self/exe at an empty, sealed memfd (prctl PR_SET_MM_MAP with
//    exe_fd, which needs CAP_SYS_ADMIN in the child's own user namespace, so
//    it works in a new one too); execve of /proc/self/exe then fails with
//    ENOEXEC instead of running the runtime inside the container.
// See prctl(2) PR_SET_MM, memfd_create(2), proc(5) /proc/PID/maps and stat.

import { F_ADD_SEALS, F_SEAL, MFD, O } from "../../ffi/constants.ts";
import { Errno } from "../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../ffi/syscall.ts";
import { stateRoot } from "../paths.ts";

/** A range of addresses to unmap. */
export interface Mapping {
  start: bigint;
  length: bigint;
}

/** What the child needs to let go of the executable (steps.ts "hide-exe", less the fd). */
export interface ExeImage {
  /** Every mapping of the executable. */
  unmap: Mapping[];
  /** start_code .. env_end of struct prctl_mm_map, as this process has them. */
  mm: bigint[];
}

/**
 * The mappings of the file with inode `ino` at `path` in the text of
 * /proc/PID/maps ("start-end perms offset dev inode path").
 */
export function exeMappings(maps: string, path: string, ino: number): Mapping[] {
  const out: Mapping[] = [];
  for (const line of maps.split("\n")) {
    const m = line.match(/^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s+(.*)$/);
    if (!m || Number(m[3]) !== ino || m[4] !== path) continue;
    const start = BigInt(`0x${m[1]}`), end = BigInt(`0x${m[2]}`);
    out.push({ start, length: end - start });
  }
  return out;
}

/** /proc/PID/stat fields of struct prctl_mm_map, in its order (start_code .. env_end; brk given). */
const STAT_FIELDS = {
  start_code: 26,
  end_code: 27,
  start_data: 45,
  end_data: 46,
  start_brk: 47,
  start_stack: 28,
  arg_start: 48,
  arg_end: 49,
  env_start: 50,
  env_end: 51,
} as const;

/**
 * The 11 address fields of struct prctl_mm_map from the text of
 * /proc/PID/stat and the current program break: start_code, end_code,
 * start_data, end_data, start_brk, brk, start_stack, arg_start, arg_end,
 * env_start, env_end. The command name (field 2) may hold spaces and
 * parentheses: fields are counted after its last ")".
 */
export function mmLayout(stat: string, brk: bigint): bigint[] {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).trim().split(/\s+/);
  const field = (n: number) => {
    const v = rest[n - 3];
    if (v === undefined || !/^\d+$/.test(v)) throw new Error(`/proc/self/stat: no field ${n}`);
    return BigInt(v);
  };
  const f = STAT_FIELDS;
  return [
    field(f.start_code),
    field(f.end_code),
    field(f.start_data),
    field(f.end_data),
    field(f.start_brk),
    brk,
    field(f.start_stack),
    field(f.arg_start),
    field(f.arg_end),
    field(f.env_start),
    field(f.env_end),
  ];
}

/** This process's executable as the child will find it (read just before the clone). */
export function exeImage(): ExeImage {
  const path = Deno.readLinkSync("/proc/self/exe");
  const ino = Deno.statSync("/proc/self/exe").ino ?? -1;
  const unmap = exeMappings(Deno.readTextFileSync("/proc/self/maps"), path, ino);
  if (!unmap.length) throw new Error(`no mapping of ${JSON.stringify(path)} in /proc/self/maps`);
  const brk = BigInt(sys("brk", [0]));
  return { unmap, mm: mmLayout(Deno.readTextFileSync("/proc/self/stat"), brk) };
}

/** open(2) O_TMPFILE (with O_DIRECTORY, as the kernel defines it). */
const O_TMPFILE = 0o20200000;

/**
 * A new empty memfd, executable (PR_SET_MM wants exec permission) and sealed
 * against any write, growth or new seal: what the child's /proc/self/exe
 * will name. Close-on-exec; the caller closes it after the clone. Where
 * executable memfds are refused (vm.memfd_noexec = 2), an unnamed empty file
 * of mode 0500 in the state root instead.
 */
export function sealedExePlaceholder(): number {
  const name = "tsbox-sealed-exe";
  const flags = MFD.CLOEXEC | MFD.ALLOW_SEALING;
  // MFD_EXEC (Linux 6.3) says so explicitly; older kernels refuse the flag and make memfds executable.
  let fd = sysRaw("memfd_create", [name, flags | MFD.EXEC]);
  if (fd === -Errno.EINVAL) fd = sysRaw("memfd_create", [name, flags]);
  if (fd === -Errno.EACCES) {
    return sys("open", [stateRoot(), O_TMPFILE | O.RDWR | O.CLOEXEC, 0o500], "O_TMPFILE");
  }
  if (fd < 0) throw new SyscallError("memfd_create", -fd, JSON.stringify(name));
  try {
    sys("fcntl", [fd, F_ADD_SEALS, F_SEAL.SEAL | F_SEAL.SHRINK | F_SEAL.GROW | F_SEAL.WRITE]);
  } catch (e) {
    sysRaw("close", [fd]);
    throw e;
  }
  return fd;
}
