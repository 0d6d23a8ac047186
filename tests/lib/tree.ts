// A tree's description for comparisons: every path with its type, mode,
// owner, size, link target, device number, mtime (non-directories) and
// extended attributes, read with lstat and llistxattr (never following links).

import { listXattrs } from "../../src/image/tar_write.ts";

/** Describes every path under `dir` ("/etc/passwd file 644 0:0 size=...") in sorted order. */
export function describeTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const p = `${dir}${rel}`;
    const st = Deno.lstatSync(p);
    const type = st.isDirectory
      ? "dir"
      : st.isSymlink
      ? "link"
      : st.isFile
      ? "file"
      : st.isCharDevice
      ? "char"
      : st.isBlockDevice
      ? "block"
      : st.isFifo
      ? "fifo"
      : "socket";
    const xattrs = Object.entries(listXattrs(p))
      .filter(([k]) => !k.startsWith("trusted.overlay.") && k !== "security.selinux")
      .map(([k, v]) => `${k}=${[...v].map((b) => b.toString(16).padStart(2, "0")).join("")}`)
      .sort();
    const parts = [type, (st.mode! & 0o7777).toString(8), `${st.uid}:${st.gid}`];
    if (st.isFile) parts.push(`size=${st.size}`, `nlink=${st.nlink}`);
    if (st.isSymlink) parts.push(`-> ${Deno.readLinkSync(p)}`);
    if (st.isCharDevice || st.isBlockDevice) parts.push(`rdev=${st.rdev}`);
    if (!st.isDirectory) parts.push(`mtime=${st.mtime?.getTime()}`);
    if (xattrs.length) parts.push(...xattrs);
    out.set(rel || "/", parts.join(" "));
    if (st.isDirectory) {
      for (const e of [...Deno.readDirSync(p)].map((e) => e.name).sort()) walk(`${rel}/${e}`);
    }
  };
  walk("");
  return out;
}

/** The differences between two descriptions, for an assertion message. */
export function treeDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${v} | ${b.get(k) ?? "absent"}`);
  for (const [k, v] of b) if (!a.has(k)) out.push(`${k}: absent | ${v}`);
  return out;
}
