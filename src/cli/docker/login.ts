// tsbox login / logout: store or remove a registry's credentials (Docker's
// config.json `auths`, or $REGISTRY_AUTH_FILE, mode 0600).

import { UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";

const FLAGS: FlagDef[] = [
  { name: "username", short: "u", type: "string", value: "NAME", help: "Username" },
  { name: "password", short: "p", type: "string", value: "PASSWORD", help: "Password" },
  { name: "password-stdin", type: "bool", help: "Take the password from stdin" },
  { name: "tls-verify", type: "bool", help: "Require HTTPS with a verified certificate" },
  { name: "help", type: "bool", help: "Print usage" },
];
const LOGOUT_FLAGS: FlagDef[] = [{ name: "help", type: "bool", help: "Print usage" }];

function registryHost(arg: string | undefined): string {
  if (arg === undefined) return "docker.io";
  const host = arg.replace(/^[a-z]+:\/\//, "").split("/")[0]!;
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

async function readLine(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const c of Deno.stdin.readable) chunks.push(c);
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return text.replace(/\r?\n$/, "");
}

/** Entry point of `tsbox login`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("login", args, FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(formatHelp(
      "login [OPTIONS] [SERVER]",
      "Log in to a registry (the credentials are checked, then stored 0600).",
      [
        "tsbox login -u me localhost:5000",
        "echo $TOKEN | tsbox login -u me --password-stdin ghcr.io",
      ],
      FLAGS,
    )),
      0);
  }
  const domain = registryHost(positionals[0]);
  const username = str(flags, "username");
  let password = str(flags, "password");
  if (bool(flags, "password-stdin")) password = await readLine();
  if (!username || password === undefined) {
    throw new UsageError("login needs --username and --password (or --password-stdin)");
  }
  const { Registry, RegistryError } = await import("../../image/registry/client.ts");
  const { storeCredentials } = await import("../../image/registry/auth.ts");
  const { TsboxError } = await import("../../errors.ts");
  const reg = new Registry(domain, {
    credentials: { username, password },
    ...(flags["tls-verify"] !== undefined ? { tlsVerify: bool(flags, "tls-verify") } : {}),
  });
  try {
    await reg.ping();
  } catch (e) {
    if (e instanceof RegistryError && (e.status === 401 || e.codes.includes("UNAUTHORIZED"))) {
      throw new TsboxError(`login to ${domain}: unauthorized: incorrect username or password`);
    }
    throw e;
  } finally {
    reg.close();
  }
  storeCredentials(domain, { username, password });
  console.log("Login Succeeded");
  return 0;
}

/** Entry point of `tsbox logout`. */
export async function logout(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("logout", args, LOGOUT_FLAGS, true);
  if (bool(flags, "help")) {
    return (console.log(
      formatHelp("logout [SERVER]", "Remove a registry's stored credentials.", [
        "tsbox logout localhost:5000",
      ], LOGOUT_FLAGS),
    ),
      0);
  }
  const domain = registryHost(positionals[0]);
  const { removeCredentials } = await import("../../image/registry/auth.ts");
  if (removeCredentials(domain)) console.log(`Removing login credentials for ${domain}`);
  else console.log(`Not logged in to ${domain}`);
  return 0;
}
