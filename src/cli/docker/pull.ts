// tsbox pull: download an image from a registry; and the pull that `run` and
// `create` do for a missing image (--pull missing|always|never).

import { NotFoundError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { PullProgress } from "../progress.ts";

const FLAGS: FlagDef[] = [
  { name: "quiet", short: "q", type: "bool", help: "Suppress verbose output" },
  {
    name: "platform",
    type: "string",
    value: "OS/ARCH",
    help: "Pick this platform from a multi-platform image (default linux/amd64)",
  },
  {
    name: "tls-verify",
    type: "bool",
    help: "Require HTTPS with a verified certificate (false: plain HTTP allowed)",
  },
  { name: "all-tags", short: "a", type: "bool", help: "Unsupported: pull one tag at a time" },
  { name: "help", type: "bool", help: "Print usage" },
];

const HELP = formatHelp(
  "pull [OPTIONS] NAME[:TAG|@DIGEST]",
  "Download an image from a registry. Layers already stored are shared, not downloaded again.",
  [
    "tsbox pull debian",
    "tsbox pull localhost:5000/app:1.0",
    "tsbox pull --platform linux/arm64 alpine",
    "tsbox pull -q ghcr.io/org/tool@sha256:...",
  ],
  FLAGS,
);

/** Options of `pullWithProgress`. */
export interface PullCliOptions {
  quiet?: boolean;
  platform?: string;
  tlsVerify?: boolean;
  /** Where progress goes (stdout for `pull`, stderr for `run`). */
  out?: typeof Deno.stdout | typeof Deno.stderr;
}

/** Pulls `ref`, printing progress as Docker does; returns the name pulled. */
export async function pullWithProgress(ref: string, o: PullCliOptions = {}): Promise<string> {
  const { pullImage } = await import("../../image/pull.ts");
  const { parsePlatform } = await import("../../image/oci.ts");
  const { parseReference, familiar, canonical } = await import(
    "../../image/registry/reference.ts"
  );
  const r = parseReference(ref);
  const platform = o.platform !== undefined ? parsePlatform(o.platform) : undefined;
  const out = o.out ?? Deno.stdout;
  const p = new PullProgress(out, o.quiet ?? false);
  if (r.tag === undefined && r.digest === undefined) p.line("Using default tag: latest");
  const res = await pullImage(ref, {
    ...(platform ? { platform } : {}),
    ...(o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {}),
    onEvent: (e) => {
      if (e.kind === "resolved") {
        const at = r.digest ?? r.tag ?? "latest";
        p.line(`${at}: Pulling from ${r.path}`);
      } else p.event(e);
    },
  });
  p.done();
  const shown = familiar(res.name);
  p.line(`Digest: ${res.digest}`);
  p.line(
    res.downloaded
      ? `Status: Downloaded newer image for ${shown}`
      : `Status: Image is up to date for ${shown}`,
  );
  const name = canonical({ ...r, ...(r.tag === undefined && !r.digest ? { tag: "latest" } : {}) });
  if (o.quiet) console.log(name);
  else p.line(name);
  return res.name;
}

/**
 * Makes sure `ref` is in the store before `run`/`create`, as Docker does:
 * "missing" pulls it when absent ("Unable to find image ... locally"),
 * "always" pulls it, "never" only checks.
 */
export async function ensureImage(
  ref: string,
  policy: string,
  o: { platform?: string; quiet?: boolean } = {},
): Promise<void> {
  if (!["missing", "always", "never"].includes(policy)) {
    throw new UsageError(
      `invalid pull option: ${
        JSON.stringify(policy)
      }: must be one of "always", "missing" or "never"`,
    );
  }
  await (await import("../../image/legacy.ts")).prepareStore();
  const { findImage } = await import("../../image/store.ts");
  let have = false;
  try {
    findImage(ref);
    have = true;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  if (policy === "never" || (have && policy === "missing")) {
    if (!have) throw new NotFoundError(`no such image: ${ref}`);
    return;
  }
  const { parseReference, withDefaultTag, familiar, canonical } = await import(
    "../../image/registry/reference.ts"
  );
  if (!have) {
    const shown = familiar(canonical(withDefaultTag(parseReference(ref))));
    console.error(`Unable to find image '${shown}' locally`);
  }
  await pullWithProgress(ref, {
    out: Deno.stderr,
    ...(o.platform !== undefined ? { platform: o.platform } : {}),
    ...(o.quiet ? { quiet: true } : {}),
  });
}

/** Entry point of `tsbox pull`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("pull", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tsbox pull" requires exactly 1 argument.\nSee 'tsbox pull --help'.`);
  }
  if (bool(flags, "all-tags")) throw new UsageError("--all-tags is not supported");
  const platform = str(flags, "platform");
  await pullWithProgress(positionals[0]!, {
    quiet: bool(flags, "quiet"),
    ...(platform !== undefined ? { platform } : {}),
    ...(flags["tls-verify"] !== undefined ? { tlsVerify: bool(flags, "tls-verify") } : {}),
  });
  return 0;
}
