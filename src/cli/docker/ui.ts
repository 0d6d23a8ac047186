// tsbox ui: serve the local web dashboard (src/ui/server.ts) until Ctrl-C.
// It prints the one URL to open, with a fresh token, and opens nothing by
// itself. It listens on 127.0.0.1 unless --listen says otherwise; an
// address that is not loopback is taken only from --listen (with a warning),
// never from TSBOX_UI_LISTEN.

import { TsboxError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";

const FLAGS: FlagDef[] = [
  {
    name: "listen",
    type: "string",
    value: "ADDR:PORT",
    help: "Address and port to listen on (default 127.0.0.1:7420; port 0 picks a free one)",
  },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "ui [OPTIONS]",
  "Serve a local web dashboard: containers with live usage and actions, a container's isolation,\n" +
    "logs and terminal, the network drawn from the kernel, the cgroup tree, start traces.\n" +
    "It prints a URL with a token; open it in a browser (over an SSH port forward from elsewhere:\n" +
    "ssh -L 7420:127.0.0.1:7420 HOST). TSBOX_UI_LISTEN sets the default (loopback only).",
  ["tsbox ui", "tsbox ui --listen 127.0.0.1:0", "tsbox ui --listen 10.0.0.5:7420"],
  FLAGS,
);

/** The default address. */
export const DEFAULT_LISTEN = "127.0.0.1:7420";

/** Parses "ADDR:PORT" ("[::1]:80" for IPv6). */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new UsageError(`invalid listen address ${JSON.stringify(text)}: expected ADDR:PORT`);
  }
  return { hostname: (m[1] ?? m[2])!, port };
}

/** Entry point of `tsbox ui`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("ui", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`"tsbox ui" takes no arguments.`);
  const { isLoopback, newToken } = await import("../../ui/auth.ts");
  const explicit = str(flags, "listen");
  const fromEnv = Deno.env.get("TSBOX_UI_LISTEN");
  const listen = parseListen(explicit ?? (fromEnv || DEFAULT_LISTEN));
  if (!isLoopback(listen.hostname)) {
    if (explicit === undefined) {
      throw new UsageError(
        `refusing to listen on ${listen.hostname}, which is not a loopback address: ` +
          "only --listen may choose such an address",
      );
    }
    console.error(
      `tsbox ui: warning: listening on ${listen.hostname}, not loopback: anyone who can reach it ` +
        "and learns the token controls your containers (prefer an SSH port forward)",
    );
  }
  const token = newToken();
  const { startUiServer } = await import("../../ui/server.ts");
  let server;
  try {
    server = await startUiServer({ ...listen, token });
  } catch (e) {
    throw new TsboxError(`listen on ${listen.hostname}:${listen.port}`, { cause: e });
  }
  const host = listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname;
  console.log(`http://${host}:${server.port}/?token=${token}`);
  const stop = () => void server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
  }
  return 0;
}
