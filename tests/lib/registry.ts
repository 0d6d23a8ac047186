// Real registries for the image tests: the CNCF distribution registry
// (Debian's docker-registry) on 127.0.0.1 with a random port and temporary
// storage; variants with htpasswd Basic auth over TLS (a CA and certificate
// made here with openssl) and with Bearer token auth (the registry's
// `auth: token`, tokens signed by a small token server in this file).
// Images are put in it by independent tools (umoci, skopeo, podman).

import { host } from "./harness.ts";

/** A running registry. */
export interface TestRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  dir: string;
  /** Stops the server (keeps the storage: `start` again to resume). */
  stop(): Promise<void>;
  /** Starts it again on the same port and storage. */
  start(): Promise<void>;
  /** Stops it and removes everything. */
  close(): Promise<void>;
  /** For TLS registries: the CA certificate (PEM path). */
  caCert?: string;
  /** A TSBOX_CERTS_D directory holding the CA for this registry. */
  certsDir?: string;
}

/** Options of `startRegistry`. */
export interface RegistryOptions {
  /** htpasswd Basic auth with this user (needs TLS: the registry refuses Basic over HTTP). */
  basic?: { user: string; password: string };
  /** Bearer token auth through a token server in this process. */
  token?: { user: string; password: string };
  tls?: boolean;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitUp(url: string, client?: Deno.HttpClient): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url, client ? { client } : {});
      await r.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`registry at ${url} did not start`);
}

/** Makes a CA and a server certificate for 127.0.0.1 with openssl. */
async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const o = (args: string[]) => host("openssl", args);
  await o([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=tsbox test CA",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.crt`,
  ]);
  await o([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    `${dir}/server.key`,
    "-out",
    `${dir}/server.csr`,
  ]);
  Deno.writeTextFileSync(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await o([
    "x509",
    "-req",
    "-in",
    `${dir}/server.csr`,
    "-CA",
    `${dir}/ca.crt`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${dir}/ext.cnf`,
    "-out",
    `${dir}/server.crt`,
  ]);
  return { ca: `${dir}/ca.crt`, cert: `${dir}/server.crt`, key: `${dir}/server.key` };
}

/** Starts a registry as asked; close() it in a finally block. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-registry-" });
  const port = freePort();
  const hostPort = `127.0.0.1:${port}`;
  const lines = [
    "version: 0.1",
    "log: { level: error }",
    `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
    "http:",
    `  addr: ${hostPort}`,
  ];
  let caCert: string | undefined;
  let certsDir: string | undefined;
  let client: Deno.HttpClient | undefined;
  if (opts.tls || opts.basic) {
    const c = await makeCerts(dir);
    caCert = c.ca;
    lines.push(`  tls: { certificate: ${c.cert}, key: ${c.key} }`);
    certsDir = `${dir}/certs.d`;
    Deno.mkdirSync(`${certsDir}/${hostPort}`, { recursive: true });
    Deno.copyFileSync(c.ca, `${certsDir}/${hostPort}/ca.crt`);
    client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(c.ca)] });
  }
  let tokenServer: TokenServer | undefined;
  if (opts.basic) {
    await host("htpasswd", ["-Bbc", `${dir}/htpasswd`, opts.basic.user, opts.basic.password]);
    lines.push(`auth: { htpasswd: { realm: tsbox-test, path: ${dir}/htpasswd } }`);
  }
  if (opts.token) {
    tokenServer = await startTokenServer(dir, opts.token);
    lines.push(
      `auth: { token: { realm: "http://127.0.0.1:${tokenServer.port}/token", service: tsbox-test, issuer: tsbox-test-issuer, rootcertbundle: ${tokenServer.cert} } }`,
    );
  }
  Deno.writeTextFileSync(`${dir}/config.yml`, lines.join("\n") + "\n");
  let child: Deno.ChildProcess | undefined;
  const url = `${caCert ? "https" : "http"}://${hostPort}/v2/`;
  const start = async () => {
    child = new Deno.Command("docker-registry", {
      args: ["serve", `${dir}/config.yml`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitUp(url, client);
  };
  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    child = undefined;
  };
  await start();
  return {
    host: hostPort,
    dir,
    start,
    stop,
    ...(caCert ? { caCert } : {}),
    ...(certsDir ? { certsDir } : {}),
    close: async () => {
      await stop();
      await tokenServer?.close();
      client?.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interface TokenServer {
  port: number;
  cert: string;
  close(): Promise<void>;
}

const b64url = (b: Uint8Array | string) =>
  btoa(typeof b === "string" ? b : String.fromCharCode(...b)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  ).replace(/=+$/, "");

/**
 * A token server (docker/distribution docs "Token Authentication
 * Specification"): checks Basic credentials when given, grants the scope
 * asked (pull for anonymous users, pull+push for the user), and signs a JWT
 * (RS256) with a key whose certificate the registry trusts.
 */
async function startTokenServer(
  dir: string,
  user: { user: string; password: string },
): Promise<TokenServer> {
  await host("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=tsbox token",
    "-keyout",
    `${dir}/token.key`,
    "-out",
    `${dir}/token.crt`,
  ]);
  await host("openssl", [
    "pkcs8",
    "-topk8",
    "-nocrypt",
    "-in",
    `${dir}/token.key`,
    "-out",
    `${dir}/token.pk8`,
  ]);
  const pem = Deno.readTextFileSync(`${dir}/token.pk8`).replace(/-----[^-]+-----|\s/g, "");
  const der = Uint8Array.from(atob(pem), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
  // The registry finds the key by the "kid" of its certificate's public key (libtrust key id).
  const certDer = (await host("openssl", ["x509", "-in", `${dir}/token.crt`, "-pubkey", "-noout"]))
    .stdout;
  const spki = Uint8Array.from(
    atob(certDer.replace(/-----[^-]+-----|\s/g, "")),
    (c) => c.charCodeAt(0),
  );
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", spki)).subarray(0, 30);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const b of hash) bits += b.toString(2).padStart(8, "0");
  let b32 = "";
  for (let i = 0; i < bits.length; i += 5) b32 += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  const kid = b32.match(/.{4}/g)!.join(":");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const auth = req.headers.get("authorization");
    let authed = false;
    if (auth) {
      const [u, p] = atob(auth.replace(/^Basic /, "")).split(":");
      if (u !== user.user || p !== user.password) return new Response("denied", { status: 401 });
      authed = true;
    }
    const access = url.searchParams.getAll("scope").flatMap((s) => {
      const [type, name, actions] = s.split(":");
      const granted = (actions ?? "").split(",").filter((a) => a === "pull" || authed);
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "RS256", typ: "JWT", kid };
    const claims = {
      iss: "tsbox-test-issuer",
      sub: authed ? user.user : "",
      aud: url.searchParams.get("service"),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = new Uint8Array(
      await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(input)),
    );
    return Response.json({ token: `${input}.${b64url(sig)}`, expires_in: 300 });
  });
  return {
    port: server.addr.port,
    cert: `${dir}/token.crt`,
    close: () => server.shutdown(),
  };
}
