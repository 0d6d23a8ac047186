// cgroup v2 device access control: the filter from devices_bpf.ts is loaded
// with bpf(BPF_PROG_LOAD) and attached to the group's directory with
// bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI); tsbox's earlier
// program on that group (found by its name) is detached afterwards, so there
// is no moment without a filter. bpf(2); Documentation/admin-guide/cgroup-v2.rst
// ("Device controller"); include/uapi/linux/bpf.h for union bpf_attr.
// Needs CAP_SYS_ADMIN (CAP_BPF is not enough for cgroup attachment).

import {
  AT_FDCWD,
  BPF_CGROUP_DEVICE,
  BPF_CMD,
  BPF_F_ALLOW_MULTI,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  O,
} from "../../../ffi/constants.ts";
import { Errno } from "../../../ffi/errno.ts";
import { addr, cstr, fromCstr } from "../../../ffi/mem.ts";
import { sys, SyscallError, sysRaw } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import type { DeviceRule } from "../resources.ts";
import type { V2Controller } from "./controller.ts";
import { deviceFilter, encodeInsns } from "./devices_bpf.ts";

/** The name tsbox gives its device programs (bpf_prog_info.name, at most 15 characters). */
export const DEVICE_PROG_NAME = "tsbox_devices";
/** The license string; cgroup device programs call no GPL-only helper, so any will do (runc uses this). */
const LICENSE = "Apache";
/** sizeof(union bpf_attr) on Linux 6.x; the unused tail stays zero. */
const ATTR_SIZE = 144;

function attr(): { buf: Uint8Array<ArrayBuffer>; dv: DataView } {
  const buf = new Uint8Array(ATTR_SIZE);
  return { buf, dv: new DataView(buf.buffer) };
}

/** The last lines of a verifier log, for an error message. */
function logTail(log: Uint8Array): string {
  return fromCstr(log).trim().split("\n").slice(-3).join(" / ");
}

/**
 * Loads the filter for `rules`; returns the program fd (close-on-exec). On a
 * verifier rejection, loads again with a log and puts its end in the error.
 */
export function loadDeviceProgram(rules: readonly DeviceRule[]): number {
  const insns = encodeInsns(deviceFilter(rules));
  const license = cstr(LICENSE);
  const load = (log?: Uint8Array) => {
    const { buf, dv } = attr();
    dv.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true); // prog_type
    dv.setUint32(4, insns.length / 8, true); // insn_cnt
    dv.setBigUint64(8, addr(insns), true); // insns
    dv.setBigUint64(16, addr(license), true); // license
    if (log) {
      dv.setUint32(24, 1, true); // log_level
      dv.setUint32(28, log.length, true); // log_size
      dv.setBigUint64(32, addr(log), true); // log_buf
    }
    buf.set(cstr(DEVICE_PROG_NAME), 48); // prog_name[16]
    return sys("bpf", [BPF_CMD.PROG_LOAD, buf, ATTR_SIZE], `BPF_PROG_LOAD ${DEVICE_PROG_NAME}`);
  };
  try {
    return load();
  } catch (e) {
    if (!(e instanceof SyscallError) || (e.errno !== Errno.EINVAL && e.errno !== Errno.EACCES)) {
      throw e;
    }
    const log = new Uint8Array(64 * 1024);
    try {
      return load(log);
    } catch (e2) {
      throw new TsboxError(`load the device filter (verifier: ${logTail(log)})`, { cause: e2 });
    }
  }
}

/** Opens a group directory for bpf(2) (an O_PATH fd is refused as a target by older kernels). */
function openDir(dir: string): number {
  return sys(
    "openat",
    [AT_FDCWD, dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC],
    JSON.stringify(dir),
  );
}

/** IDs of the device programs attached to the group open as `cgroupFd`. */
function queryPrograms(cgroupFd: number): number[] {
  const ids = new Uint32Array(64);
  const { buf, dv } = attr();
  dv.setUint32(0, cgroupFd, true); // target_fd
  dv.setUint32(4, BPF_CGROUP_DEVICE, true); // attach_type
  dv.setBigUint64(16, addr(ids), true); // prog_ids
  dv.setUint32(24, ids.length, true); // prog_cnt (in: room, out: count)
  sys("bpf", [BPF_CMD.PROG_QUERY, buf, ATTR_SIZE], "BPF_PROG_QUERY BPF_CGROUP_DEVICE");
  return [...ids.subarray(0, dv.getUint32(24, true))];
}

/** An fd for program `id`, or undefined when it went away meanwhile. */
function programFd(id: number): number | undefined {
  const { buf, dv } = attr();
  dv.setUint32(0, id, true); // prog_id
  const r = sysRaw("bpf", [BPF_CMD.PROG_GET_FD_BY_ID, buf, ATTR_SIZE]);
  if (r === -Errno.ENOENT) return undefined;
  if (r < 0) throw new SyscallError("bpf", -r, `BPF_PROG_GET_FD_BY_ID ${id}`);
  return r;
}

/** The name of the program open as `fd` (bpf_prog_info.name). */
function programName(fd: number): string {
  const info = new Uint8Array(256);
  const { buf, dv } = attr();
  dv.setUint32(0, fd, true); // bpf_fd
  dv.setUint32(4, info.length, true); // info_len
  dv.setBigUint64(8, addr(info), true); // info
  sys("bpf", [BPF_CMD.OBJ_GET_INFO_BY_FD, buf, ATTR_SIZE], "BPF_OBJ_GET_INFO_BY_FD");
  return fromCstr(info.subarray(64, 80));
}

function attachOrDetach(cmd: number, cgroupFd: number, progFd: number, what: string): void {
  const { buf, dv } = attr();
  dv.setUint32(0, cgroupFd, true); // target_fd
  dv.setUint32(4, progFd, true); // attach_bpf_fd
  dv.setUint32(8, BPF_CGROUP_DEVICE, true); // attach_type
  if (cmd === BPF_CMD.PROG_ATTACH) dv.setUint32(12, BPF_F_ALLOW_MULTI, true); // attach_flags
  sys("bpf", [cmd, buf, ATTR_SIZE], what);
}

/** The attached device programs of group `dir`: id and name. */
export function attachedDevicePrograms(dir: string): { id: number; name: string }[] {
  const cg = openDir(dir);
  try {
    const out: { id: number; name: string }[] = [];
    for (const id of queryPrograms(cg)) {
      const fd = programFd(id);
      if (fd === undefined) continue;
      try {
        out.push({ id, name: programName(fd) });
      } finally {
        sysRaw("close", [fd]);
      }
    }
    return out;
  } finally {
    sysRaw("close", [cg]);
  }
}

/**
 * Installs the device filter for `rules` on group `dir`, replacing tsbox's
 * previous filter there (other programs are left alone).
 * Requires root (CAP_SYS_ADMIN).
 *
 * @example applyDeviceRules("/sys/fs/cgroup/tsbox/abc", DOCKER_DEFAULT_DEVICE_RULES);
 */
export function applyDeviceRules(dir: string, rules: readonly DeviceRule[]): void {
  const cg = openDir(dir);
  try {
    const before = queryPrograms(cg);
    const prog = loadDeviceProgram(rules);
    try {
      attachOrDetach(BPF_CMD.PROG_ATTACH, cg, prog, `BPF_PROG_ATTACH to ${JSON.stringify(dir)}`);
    } finally {
      sysRaw("close", [prog]);
    }
    for (const id of before) {
      const fd = programFd(id);
      if (fd === undefined) continue;
      try {
        if (programName(fd) === DEVICE_PROG_NAME) {
          attachOrDetach(
            BPF_CMD.PROG_DETACH,
            cg,
            fd,
            `BPF_PROG_DETACH from ${JSON.stringify(dir)}`,
          );
        }
      } finally {
        sysRaw("close", [fd]);
      }
    }
  } catch (e) {
    throw new TsboxError(`set the device filter of ${JSON.stringify(dir)}`, { cause: e });
  } finally {
    sysRaw("close", [cg]);
  }
}

/** Device access control as a v2 "controller" (no cgroup.subtree_control entry). */
export const devices: V2Controller = {
  serves: "devices",
  apply(dir, r) {
    if (r.devices?.length) applyDeviceRules(dir, r.devices);
  },
};
