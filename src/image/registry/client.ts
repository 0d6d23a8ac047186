// A client of one registry (OCI distribution spec; Docker Registry HTTP API
// v2): manifests, blobs (streamed, resumed with Range after a dropped
// connection), uploads, with the token flow and Basic auth (auth.ts), TLS
// and plain-HTTP rules (transport.ts), and retries with backoff on 429, 5xx
// and network errors (honouring Retry-After). Errors read as Docker's.

import { TsboxError } from "../../errors.ts";
import { basicAuth, type Credentials, credentialsFor, parseChallenge } from "./auth.ts";
import { allowsPlainHttp, apiHost, httpClientFor } from "./transport.ts";

/** Options of a registry client. */
export interface RegistryOptions {
  /** false: plain HTTP is allowed after HTTPS fails (Podman's --tls-verify=false). */
  tlsVerify?: boolean;
  /** Credentials to use instead of the stored ones (`login` checks them). */
  credentials?: Credentials;
  /** Called before a retry, with what failed and the delay. */
  onRetry?: (what: string, attempt: number, delayMs: number, err: unknown) => void;
  /** Attempts per request (default 5). */
  attempts?: number;
}

/** An HTTP error from the registry, with its distribution error codes. */
export class RegistryError extends TsboxError {
  readonly status: number;
  readonly codes: string[];

  constructor(message: string, status: number, codes: string[], cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.status = status;
    this.codes = codes;
  }
}

/** The registry cannot be reached at all (no address, no TLS): not worth retrying. */
class UnreachableError extends TsboxError {}

/** Accept header for manifests: every kind tsbox reads. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** Largest manifest tsbox reads (the distribution spec's 4 MiB). */
const MAX_MANIFEST = 4 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryable(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501);
}

/** `errors: [{code, message}]` of a distribution error body, as "code: message" text. */
async function errorText(res: Response): Promise<{ text: string; codes: string[] }> {
  let body = "";
  try {
    body = (await res.text()).slice(0, 4096);
  } catch { /* no body */ }
  try {
    const doc = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(doc.errors) && doc.errors.length) {
      return {
        text: doc.errors.map((e) =>
          `${(e.code ?? "").toLowerCase().replaceAll("_", " ")}: ${e.message ?? ""}`
        ).join("; "),
        codes: doc.errors.map((e) => e.code ?? ""),
      };
    }
  } catch { /* not JSON */ }
  return { text: `${res.status} ${res.statusText}`.trim(), codes: [] };
}

/** A request's options. */
export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: BodyInit | null;
  /** The token scope ("repository:NAME:pull"). */
  scope: string;
  /** Statuses that are answers, not errors (default: 2xx). */
  ok?: (status: number) => boolean;
  /** Do not retry (the body is a stream that cannot be sent twice). */
  once?: boolean;
}

/** One registry. */
export class Registry {
  readonly domain: string;
  readonly #opts: RegistryOptions;
  #scheme: "https" | "http" | undefined;
  #client: Deno.HttpClient | undefined;
  #clientMade = false;
  readonly #tokens = new Map<string, string>();
  #basic: string | undefined;
  #creds: Credentials | undefined | null = null;

  constructor(domain: string, opts: RegistryOptions = {}) {
    this.domain = domain;
    this.#opts = opts;
  }

  /** Releases the HTTP client. */
  close(): void {
    this.#client?.close();
  }

  #credentials(): Credentials | undefined {
    if (this.#creds === null) this.#creds = this.#opts.credentials ?? credentialsFor(this.domain);
    return this.#creds;
  }

  #httpClient(): Deno.HttpClient | undefined {
    if (!this.#clientMade) {
      this.#clientMade = true;
      this.#client = httpClientFor(this.domain);
    }
    return this.#client;
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    const client = this.#httpClient();
    return await fetch(url, { ...init, ...(client ? { client } : {}) } as RequestInit);
  }

  /** Picks https, or http when HTTPS fails and plain HTTP is allowed. */
  async #base(): Promise<string> {
    if (this.#scheme === undefined) {
      const host = apiHost(this.domain);
      try {
        const r = await this.#fetch(`https://${host}/v2/`, { method: "GET" });
        await r.body?.cancel();
        this.#scheme = "https";
      } catch (e) {
        if (!allowsPlainHttp(this.domain, this.#opts.tlsVerify ?? true)) {
          throw new UnreachableError(`reach registry ${this.domain} over https`, { cause: e });
        }
        this.#scheme = "http";
      }
    }
    return `${this.#scheme}://${apiHost(this.domain)}`;
  }

  /** Fetches a token for `scope` as a 401 challenge says. */
  async #authorize(res: Response, scope: string): Promise<boolean> {
    const header = res.headers.get("www-authenticate") ?? "";
    const ch = parseChallenge(header);
    const creds = this.#credentials();
    if (ch.scheme === "basic") {
      if (!creds || this.#basic) return false;
      this.#basic = basicAuth(creds);
      return true;
    }
    if (ch.scheme !== "bearer" || !ch.params.realm) return false;
    this.#tokens.delete(scope); // refused (expired, or too narrow): ask again, once
    const url = new URL(ch.params.realm);
    if (ch.params.service) url.searchParams.set("service", ch.params.service);
    // What this request needs, and what the registry asked for when it differs.
    url.searchParams.append("scope", scope);
    if (ch.params.scope && ch.params.scope !== scope) {
      url.searchParams.append("scope", ch.params.scope);
    }
    if (creds) url.searchParams.set("account", creds.username);
    const headers: Record<string, string> = {};
    if (creds) headers.authorization = basicAuth(creds);
    let tres: Response;
    try {
      tres = await this.#fetch(url.toString(), { headers });
    } catch (e) {
      throw new TsboxError(`get a token from ${url.origin}`, { cause: e });
    }
    if (!tres.ok) {
      const err = await errorText(tres);
      if (tres.status === 401 || tres.status === 403) {
        throw new RegistryError(
          `authentication required: get a token from ${url.origin}: ${err.text}`,
          tres.status,
          ["UNAUTHORIZED", ...err.codes],
        );
      }
      throw new RegistryError(
        `get a token from ${url.origin}: ${err.text}`,
        tres.status,
        err.codes,
      );
    }
    const doc = await tres.json() as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new TsboxError(`token server ${url.origin} sent no token`);
    this.#tokens.set(scope, token);
    return true;
  }

  /**
   * Sends a request to /v2/... with auth, retrying 429/5xx and network errors
   * with backoff. Returns the response (ok per `ok`), else throws RegistryError.
   */
  async request(path: string, o: RequestOptions): Promise<Response> {
    const attempts = o.once ? 1 : this.#opts.attempts ?? 5;
    let authTries = 0;
    for (let attempt = 1;; attempt++) {
      let res: Response;
      const headers: Record<string, string> = { ...o.headers };
      const token = this.#tokens.get(o.scope);
      if (token) headers.authorization = `Bearer ${token}`;
      else if (this.#basic) headers.authorization = this.#basic;
      try {
        const url = path.startsWith("http") ? path : `${await this.#base()}${path}`;
        res = await this.#fetch(url, {
          method: o.method ?? "GET",
          headers,
          ...(o.body !== undefined ? { body: o.body } : {}),
          redirect: "follow",
        });
      } catch (e) {
        if (attempt >= attempts || e instanceof UnreachableError) {
          throw new TsboxError(`${o.method ?? "GET"} ${this.domain}${path}`, { cause: e });
        }
        await this.#backoff(path, attempt, undefined, e);
        continue;
      }
      if (res.status === 401 && authTries++ < 2 && !o.once) {
        await res.body?.cancel();
        if (await this.#authorize(res, o.scope)) {
          attempt--;
          continue;
        }
        return await this.#fail(res, path, o);
      }
      if ((o.ok ?? ((s: number) => s >= 200 && s < 300))(res.status)) return res;
      if (retryable(res.status) && attempt < attempts) {
        const after = Number(res.headers.get("retry-after"));
        await res.body?.cancel();
        await this.#backoff(
          path,
          attempt,
          Number.isFinite(after) && after > 0 ? after * 1000 : undefined,
          `${res.status}`,
        );
        continue;
      }
      return await this.#fail(res, path, o);
    }
  }

  async #fail(res: Response, path: string, o: RequestOptions): Promise<never> {
    const err = await errorText(res);
    throw new RegistryError(
      `${o.method ?? "GET"} ${this.domain}${path}: ${err.text}`,
      res.status,
      err.codes,
    );
  }

  async #backoff(what: string, attempt: number, ms: number | undefined, err: unknown) {
    const delay = Math.min(ms ?? 250 * 2 ** (attempt - 1), 10_000);
    this.#opts.onRetry?.(what, attempt, delay, err);
    await sleep(delay);
  }

  /** Checks that the registry answers (and that the credentials work). */
  async ping(): Promise<void> {
    const res = await this.request("/v2/", { scope: "registry:catalog:*" });
    await res.body?.cancel();
  }

  /** GETs a manifest or index by tag or digest; returns its bytes and media type. */
  async getManifest(
    repo: string,
    reference: string,
  ): Promise<{ bytes: Uint8Array; mediaType: string | undefined; digestHeader: string | null }> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      headers: { accept: MANIFEST_ACCEPT },
      scope: `repository:${repo}:pull`,
    });
    const len = Number(res.headers.get("content-length") ?? 0);
    if (len > MAX_MANIFEST) {
      await res.body?.cancel();
      throw new TsboxError(`manifest ${repo}:${reference} is too large (${len} bytes)`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > MAX_MANIFEST) {
      throw new TsboxError(`manifest ${repo}:${reference} is too large`);
    }
    return {
      bytes,
      mediaType: res.headers.get("content-type") ?? undefined,
      digestHeader: res.headers.get("docker-content-digest"),
    };
  }

  /**
   * The bytes of a blob as a stream. A connection that drops midway is
   * resumed with a Range request (or restarted, skipping what was read, when
   * the server ignores Range), up to the client's attempts without progress.
   */
  blob(repo: string, digest: string, size: number): ReadableStream<Uint8Array> {
    const path = `/v2/${repo}/blobs/${digest}`;
    const attempts = this.#opts.attempts ?? 5;
    let offset = 0;
    let failures = 0;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let skip = 0;
    const open = async () => {
      const headers: Record<string, string> = {};
      if (offset > 0) headers.range = `bytes=${offset}-`;
      const res = await this.request(path, { headers, scope: `repository:${repo}:pull` });
      skip = offset > 0 && res.status !== 206 ? offset : 0;
      if (!res.body) throw new TsboxError(`GET ${this.domain}${path}: no body`);
      reader = res.body.getReader();
    };
    return new ReadableStream<Uint8Array>({
      pull: async (ctl) => {
        for (;;) {
          try {
            if (!reader) await open();
            const r = await reader!.read();
            if (r.done) {
              reader = undefined;
              if (offset >= size) {
                ctl.close();
                return;
              }
              throw new TsboxError(`connection closed after ${offset} of ${size} bytes`);
            }
            let chunk = r.value;
            if (skip > 0) {
              const n = Math.min(skip, chunk.length);
              skip -= n;
              chunk = chunk.subarray(n);
              if (chunk.length === 0) continue;
            }
            offset += chunk.length;
            failures = 0;
            ctl.enqueue(chunk);
            return;
          } catch (e) {
            if (reader) await reader.cancel().catch(() => {});
            reader = undefined;
            if (e instanceof RegistryError && !retryable(e.status)) throw e;
            if (++failures >= attempts) {
              throw new TsboxError(`download blob ${digest} from ${this.domain}`, { cause: e });
            }
            await this.#backoff(path, failures, undefined, e);
          }
        }
      },
      cancel: async (why) => {
        await reader?.cancel(why).catch(() => {});
      },
    }, { highWaterMark: 0 });
  }

  /** Whether the registry has a blob (HEAD). */
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, {
      method: "HEAD",
      scope: `repository:${repo}:pull,push`,
      ok: (s) => (s >= 200 && s < 300) || s === 404,
    });
    await res.body?.cancel();
    return res.status !== 404;
  }

  /**
   * Uploads a blob: POST starts an upload session, PUT with the digest sends
   * the bytes in one request (monolithic upload). `body` makes a fresh stream
   * for each attempt.
   */
  async uploadBlob(
    repo: string,
    digest: string,
    _size: number,
    body: () => ReadableStream<Uint8Array> | Uint8Array,
  ): Promise<void> {
    const scope = `repository:${repo}:pull,push`;
    const attempts = this.#opts.attempts ?? 5;
    for (let attempt = 1;; attempt++) {
      const start = await this.request(`/v2/${repo}/blobs/uploads/`, { method: "POST", scope });
      await start.body?.cancel();
      const loc = start.headers.get("location");
      if (!loc) throw new TsboxError(`registry ${this.domain} gave no upload location`);
      const url = new URL(loc, `${await this.#base()}/`);
      url.searchParams.set("digest", digest);
      try {
        const res = await this.request(url.toString(), {
          method: "PUT",
          headers: { "content-type": "application/octet-stream" },
          body: body() as BodyInit,
          scope,
          once: true,
        });
        await res.body?.cancel();
        return;
      } catch (e) {
        if (attempt >= attempts || (e instanceof RegistryError && !retryable(e.status))) throw e;
        await this.#backoff(url.pathname, attempt, undefined, e);
      }
    }
  }

  /** PUTs a manifest under a tag or digest. */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string) {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      method: "PUT",
      headers: { "content-type": mediaType },
      body: bytes as BodyInit,
      scope: `repository:${repo}:pull,push`,
    });
    await res.body?.cancel();
  }
}
