// Registry credentials and tokens. Credentials live in the `auths` object
// that containers-auth.json(5) and Docker's config.json share
// ({"auths": {"HOST": {"auth": base64("user:password")}}}); tsbox reads
// $REGISTRY_AUTH_FILE, then Podman's auth.json ($XDG_RUNTIME_DIR/containers/,
// /run/containers/0/ for root), then Docker's ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json), and `login` writes the first of $REGISTRY_AUTH_FILE
// or Docker's file, mode 0600. Tokens follow the distribution spec's token
// flow: a 401 with `WWW-Authenticate: Bearer realm=..,service=..,scope=..`
// sends the client to the realm (with Basic credentials when it has some) for
// a token it then presents as `Authorization: Bearer`.

import { TsboxError } from "../../errors.ts";
import { DOCKER_HUB } from "./reference.ts";

/** A user name and password (or identity token) for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

/** Docker Hub's key in Docker's config.json. */
const HUB_KEY = "https://index.docker.io/v1/";

function home(): string {
  return Deno.env.get("HOME") || "/root";
}

/** The auth files tsbox reads, in order. */
export function authFiles(): string[] {
  const out: string[] = [];
  const explicit = Deno.env.get("REGISTRY_AUTH_FILE");
  if (explicit) out.push(explicit);
  const xdg = Deno.env.get("XDG_RUNTIME_DIR");
  if (xdg) out.push(`${xdg}/containers/auth.json`);
  if (Deno.uid() === 0) out.push("/run/containers/0/auth.json");
  out.push(`${Deno.env.get("DOCKER_CONFIG") || `${home()}/.docker`}/config.json`);
  return out;
}

/** The file `login` writes and `logout` edits. */
export function authFileToWrite(): string {
  return Deno.env.get("REGISTRY_AUTH_FILE") ||
    `${Deno.env.get("DOCKER_CONFIG") || `${home()}/.docker`}/config.json`;
}

/** The registry host an `auths` key names ("https://host/v1/" -> "host"). */
export function authKeyHost(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, "").split("/")[0]!;
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

interface AuthFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string }
  >;
  [key: string]: unknown;
}

function readAuthFile(path: string): AuthFile | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch (e) {
    throw new TsboxError(`read credentials ${JSON.stringify(path)}: not JSON`, { cause: e });
  }
}

function decode(entry: NonNullable<AuthFile["auths"]>[string]): Credentials | undefined {
  if (entry.auth) {
    const text = new TextDecoder().decode(
      Uint8Array.from(atob(entry.auth), (c) => c.charCodeAt(0)),
    );
    const i = text.indexOf(":");
    if (i > 0) return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  if (entry.username && entry.password) {
    return { username: entry.username, password: entry.password };
  }
  if (entry.identitytoken) return { username: "<token>", password: entry.identitytoken };
  return undefined;
}

/** The stored credentials for a registry host, or undefined (anonymous). */
export function credentialsFor(domain: string): Credentials | undefined {
  for (const path of authFiles()) {
    const auths = readAuthFile(path)?.auths ?? {};
    for (const [key, entry] of Object.entries(auths)) {
      if (authKeyHost(key) === domain) {
        const c = decode(entry);
        if (c) return c;
      }
    }
  }
  return undefined;
}

function writeAuthFile(path: string, doc: AuthFile): void {
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (dir) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${Deno.pid}`;
  Deno.writeTextFileSync(tmp, JSON.stringify(doc, null, "\t") + "\n", { mode: 0o600 });
  Deno.chmodSync(tmp, 0o600);
  Deno.renameSync(tmp, path);
}

/** Stores credentials for a registry (Docker's key for Docker Hub). Returns the file. */
export function storeCredentials(domain: string, c: Credentials): string {
  const path = authFileToWrite();
  const doc = readAuthFile(path) ?? {};
  const auths = doc.auths ?? {};
  for (const key of Object.keys(auths)) if (authKeyHost(key) === domain) delete auths[key];
  auths[domain === DOCKER_HUB ? HUB_KEY : domain] = {
    auth: btoa(String.fromCharCode(...new TextEncoder().encode(`${c.username}:${c.password}`))),
  };
  doc.auths = auths;
  writeAuthFile(path, doc);
  return path;
}

/** Removes a registry's credentials; false when there were none. */
export function removeCredentials(domain: string): boolean {
  const path = authFileToWrite();
  const doc = readAuthFile(path);
  if (!doc?.auths) return false;
  let found = false;
  for (const key of Object.keys(doc.auths)) {
    if (authKeyHost(key) === domain) {
      delete doc.auths[key];
      found = true;
    }
  }
  if (found) writeAuthFile(path, doc);
  return found;
}

/** A parsed WWW-Authenticate challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (RFC 7235 auth-params). */
export function parseChallenge(header: string): Challenge {
  const m = header.match(/^\s*([A-Za-z]+)\s*(.*)$/);
  if (!m) return { scheme: "", params: {} };
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) {
    if (p[0] === "") break;
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** The value of an `Authorization: Basic` header. */
export function basicAuth(c: Credentials): string {
  return `Basic ${
    btoa(String.fromCharCode(...new TextEncoder().encode(`${c.username}:${c.password}`)))
  }`;
}
