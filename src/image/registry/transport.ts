// How tsbox reaches a registry: HTTPS verified with the system's CAs
// (/etc/ssl/certs/ca-certificates.crt) plus the registry's own CA from
// /etc/tsbox/certs.d/HOST:PORT/*.crt (like /etc/docker/certs.d; $TSBOX_CERTS_D
// moves the directory) and a client certificate from client.cert/client.key
// there; plain HTTP only for loopback registries and those the
// administrator names in tsbox.json `insecureRegistries` or `--tls-verify=false`
// (Docker's rule: HTTPS is tried first, HTTP after it fails).

import { loadConfig } from "../../config.ts";
import { isLoopback } from "./reference.ts";

/** The directory of per-registry certificates. */
export function certsDir(): string {
  return Deno.env.get("TSBOX_CERTS_D") || "/etc/tsbox/certs.d";
}

function readOr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** An HTTP client for `domain` with its CAs and client certificate, or undefined for Deno's default. */
export function httpClientFor(domain: string): Deno.HttpClient | undefined {
  const dir = `${certsDir()}/${domain}`;
  const cas: string[] = [];
  let cert: string | undefined, key: string | undefined;
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.endsWith(".crt")) cas.push(readOr(`${dir}/${e.name}`) ?? "");
      if (e.name.endsWith(".cert")) cert = readOr(`${dir}/${e.name}`);
      if (e.name.endsWith(".key")) key = readOr(`${dir}/${e.name}`);
    }
  } catch { /* no per-registry certificates */ }
  const system = readOr("/etc/ssl/certs/ca-certificates.crt");
  if (cas.length === 0 && !cert && !system) return undefined;
  const opts: Deno.CreateHttpClientOptions = { caCerts: [...(system ? [system] : []), ...cas] };
  if (cert && key) Object.assign(opts, { cert, key });
  return Deno.createHttpClient(opts);
}

/** Whether plain HTTP may be used for `domain` (after HTTPS fails). */
export function allowsPlainHttp(domain: string, tlsVerify: boolean): boolean {
  if (!tlsVerify || isLoopback(domain)) return true;
  const list = loadConfig().insecureRegistries ?? [];
  return list.includes(domain);
}

/** The host to talk to for a domain (Docker Hub's API is at registry-1.docker.io). */
export function apiHost(domain: string): string {
  return domain === "docker.io" ? "registry-1.docker.io" : domain;
}
