// tsbox import: make an image from a root filesystem tarball.

import { UsageError } from "../../errors.ts";
import type { ImageConfig } from "../../spec/from_run.ts";
import { bool, type FlagDef, formatHelp, list, parseFlags } from "../flags.ts";

const FLAGS: FlagDef[] = [
  {
    name: "change",
    short: "c",
    type: "list",
    value: "INSTR",
    help:
      "Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME",
  },
  { name: "help", type: "bool", help: "Print usage" },
];

const HELP = formatHelp(
  "import [OPTIONS] FILE NAME[:TAG]",
  "Import a root filesystem tarball (.tar or .tar.gz) as an image. Entries that would land outside\nthe root (.., absolute paths, escaping links) are refused.",
  [
    `tsbox import --change 'CMD ["sh"]' rootfs.tar.gz busybox`,
    "tsbox import -c 'ENV LANG=C.UTF-8' -c 'WORKDIR /app' app.tar app:1.0",
  ],
  FLAGS,
);

/** A Dockerfile-style argument: JSON array, or shell form wrapped in sh -c. */
function commandForm(v: string): string[] {
  if (v.trimStart().startsWith("[")) {
    try {
      const a = JSON.parse(v);
      if (Array.isArray(a) && a.every((x) => typeof x === "string")) return a;
    } catch { /* fall through */ }
    throw new UsageError(`invalid JSON array: ${v}`);
  }
  return ["/bin/sh", "-c", v];
}

/** Applies --change instructions to an image config. */
export function applyChanges(changes: readonly string[]): ImageConfig {
  const c: ImageConfig = {};
  for (const ch of changes) {
    const m = ch.trim().match(/^(\w+)\s+([\s\S]+)$/);
    if (!m) throw new UsageError(`invalid --change ${JSON.stringify(ch)}`);
    const [, instr, arg] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case "CMD":
        c.Cmd = commandForm(arg);
        break;
      case "ENTRYPOINT":
        c.Entrypoint = commandForm(arg);
        break;
      case "ENV": {
        const kv = arg.includes("=") ? arg.split(/\s+(?=\w+=)/) : [arg.replace(/\s+/, "=")];
        c.Env = [...(c.Env ?? []), ...kv];
        break;
      }
      case "WORKDIR":
        c.WorkingDir = arg.trim();
        break;
      case "USER":
        c.User = arg.trim();
        break;
      case "EXPOSE":
        for (const p of arg.trim().split(/\s+/)) {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}), [p.includes("/") ? p : `${p}/tcp`]: {} };
        }
        break;
      case "LABEL":
        for (const kv of arg.trim().split(/\s+/)) {
          const [k, ...v] = kv.split("=");
          c.Labels = { ...(c.Labels ?? {}), [k!]: v.join("=").replace(/^"|"$/g, "") };
        }
        break;
      case "VOLUME": {
        const t = arg.trim();
        const paths = t.startsWith("[") ? commandForm(t) : t.split(/\s+/);
        for (const p of paths) c.Volumes = { ...(c.Volumes ?? {}), [p]: {} };
        break;
      }
      default:
        throw new UsageError(
          `--change: unsupported instruction ${instr} (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME)`,
        );
    }
  }
  return c;
}

/** Entry point of `tsbox import`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("import", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      `"tsbox import" requires exactly 2 arguments: FILE NAME.\nSee 'tsbox import --help'.`,
    );
  }
  const config = applyChanges(list(flags, "change"));
  if (!config.Env?.some((e) => e.startsWith("PATH="))) {
    config.Env = [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ...(config.Env ?? []),
    ];
  }
  const { importImage } = await import("../../image/import.ts");
  const img = await importImage(positionals[0]!, positionals[1]!, config);
  console.log(`sha256:${img.id}`);
  return 0;
}
