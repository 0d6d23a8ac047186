// Detached overlay mounts: an overlay that is attached to no mount
// namespace at all, reachable only through the fd fsmount(2) returns (the new
// mount API: fsopen(2), fsconfig(2) with one "lowerdir+" per layer, Linux
// 6.8+, else one "lowerdir" string, fsmount(2)). `tsbox build` writes COPY
// and ADD steps through one (the kernel's overlay puts the changes, copy-ups
// and whiteouts in the upper dir, which becomes the layer) and reads COPY
// --from sources through a read-only one. Nothing is visible to any other
// process, and closing the fd unmounts it: a crash leaves no mount behind.
// Paths inside are resolved with openat2(2) RESOLVE_IN_ROOT (securejoin.ts).

import { O } from "../../ffi/constants.ts";
import { describeErrno, Errno } from "../../ffi/errno.ts";
import { sys, sysRaw } from "../../ffi/syscall.ts";
import { TsboxError } from "../errors.ts";

/** fsconfig(2) commands and fsopen/fsmount flags (linux/mount.h). */
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSOPEN_CLOEXEC = 1;
const FSMOUNT_CLOEXEC = 1;
const MOUNT_ATTR_RDONLY = 1;

const q = JSON.stringify;

/** The kernel's messages on an fs context ("e overlayfs: ..."), for errors. */
function messages(fd: number): string {
  const out: string[] = [];
  const buf = new Uint8Array(1024);
  for (let i = 0; i < 16; i++) {
    const n = sysRaw("read", [fd, buf, buf.length]);
    if (n <= 0) break;
    out.push(new TextDecoder().decode(buf.subarray(0, n)).trim());
  }
  return out.join("; ");
}

/** What a detached overlay is made of. */
export interface DetachedOverlay {
  /** Lower layers, topmost first (overlay's order); at least one. */
  lower: readonly string[];
  /** The writable layer and its work dir (same filesystem); none for a read-only view. */
  upper?: { dir: string; work: string };
}

/**
 * Mounts an overlay attached to nothing; returns the fd of its root (close
 * it to unmount). With one lower layer and no upper dir, the layer itself is
 * opened instead (overlay needs two lower layers to be read-only). Requires
 * CAP_SYS_ADMIN.
 */
export function openDetachedOverlay(o: DetachedOverlay): number {
  if (!o.lower.length) throw new TsboxError("a detached overlay needs a lower layer");
  if (!o.upper && o.lower.length === 1) {
    return sys("open", [o.lower[0]!, O.PATH | O.DIRECTORY | O.CLOEXEC], q(o.lower[0]));
  }
  for (const p of [...o.lower, o.upper?.dir ?? "", o.upper?.work ?? ""]) {
    if (/[:,]/.test(p)) throw new TsboxError(`overlay path ${q(p)} contains ':' or ','`);
  }
  const fs = sys("fsopen", ["overlay", FSOPEN_CLOEXEC]);
  try {
    const set = (key: string, value: string) => {
      const r = sysRaw("fsconfig", [fs, FSCONFIG_SET_STRING, key, value, 0]);
      if (r < 0) {
        throw new TsboxError(
          `overlay option ${key}=${q(value)}: ${messages(fs) || describeErrno(-r)}`,
        );
      }
    };
    const plus = sysRaw("fsconfig", [fs, FSCONFIG_SET_STRING, "lowerdir+", o.lower[0]!, 0]);
    if (plus === 0) { for (const l of o.lower.slice(1)) set("lowerdir+", l); }
    else if (plus === -Errno.EINVAL) set("lowerdir", o.lower.join(":")); // before Linux 6.8
    else throw new TsboxError(`overlay lowerdir+ ${q(o.lower[0])}: ${messages(fs)}`);
    if (o.upper) {
      set("upperdir", o.upper.dir);
      set("workdir", o.upper.work);
    }
    const r = sysRaw("fsconfig", [fs, FSCONFIG_CMD_CREATE, null, null, 0]);
    if (r < 0) {
      throw new TsboxError(
        `create overlay of ${o.lower.length} layers: ${messages(fs) || describeErrno(-r)}`,
      );
    }
    return sys("fsmount", [fs, FSMOUNT_CLOEXEC, o.upper ? 0 : MOUNT_ATTR_RDONLY], "overlay");
  } finally {
    sys("close", [fs]);
  }
}
