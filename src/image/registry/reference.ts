// Image references with Docker's rules (distribution/reference: reference.go,
// normalize.go): `debian` is docker.io/library/debian:latest, the first
// path component is a registry only when it has a "." or ":" or is
// "localhost", index.docker.io is docker.io, tags are [\w][\w.-]{0,127},
// digests are sha256:<64 hex>. Pure parsing; no I/O.

import { UsageError } from "../../errors.ts";

/** Docker Hub's canonical domain. */
export const DOCKER_HUB = "docker.io";

/** A parsed image reference. */
export interface Reference {
  /** Registry host[:port], e.g. "docker.io", "localhost:5000". */
  domain: string;
  /** Repository path in the registry, e.g. "library/debian". */
  path: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const DOMAIN_RE =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

function invalid(ref: string, why?: string): UsageError {
  return new UsageError(`invalid reference format${why ? `: ${why}` : ""}: ${JSON.stringify(ref)}`);
}

/**
 * Parses a reference as Docker does; a missing tag stays undefined (see `withDefaultTag`).
 * @example parseReference("debian") // { domain: "docker.io", path: "library/debian" }
 */
export function parseReference(ref: string): Reference {
  if (ref === "" || ref.length > 512) throw invalid(ref);
  if (/^[a-f0-9]{64}$/.test(ref)) {
    throw new UsageError(
      `invalid repository name (${ref}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw invalid(ref, "bad digest");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(ref, "bad tag");
  }
  let domain = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN_RE.test(domain)) throw invalid(ref, "bad registry host");
    }
  }
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (path !== path.toLowerCase()) {
    throw new UsageError(
      `invalid reference format: repository name (${path}) must be lowercase`,
    );
  }
  if (!PATH_RE.test(path)) throw invalid(ref);
  if (`${domain}/${path}`.length > 255) throw invalid(ref, "repository name is too long");
  const r: Reference = { domain, path };
  if (tag !== undefined) r.tag = tag;
  if (digest !== undefined) r.digest = digest;
  return r;
}

/** The reference with tag "latest" when it has neither tag nor digest. */
export function withDefaultTag(r: Reference): Reference {
  return r.tag === undefined && r.digest === undefined ? { ...r, tag: "latest" } : r;
}

/** "docker.io/library/debian" */
export function repository(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The full name: "docker.io/library/debian:latest", "localhost:5000/x@sha256:...". */
export function canonical(r: Reference): string {
  return `${repository(r)}${r.tag !== undefined ? `:${r.tag}` : ""}${
    r.digest !== undefined ? `@${r.digest}` : ""
  }`;
}

/** The repository as Docker shows it: "debian", "user/app", "localhost:5000/x". */
export function familiarRepository(repo: string): string {
  if (repo.startsWith(`${DOCKER_HUB}/library/`) && repo.split("/").length === 3) {
    return repo.slice(`${DOCKER_HUB}/library/`.length);
  }
  if (repo.startsWith(`${DOCKER_HUB}/`)) return repo.slice(DOCKER_HUB.length + 1);
  return repo;
}

/** A canonical name as Docker shows it: "debian:latest", "localhost:5000/x:1". */
export function familiar(name: string): string {
  const at = name.indexOf("@");
  const base = at >= 0 ? name.slice(0, at) : name;
  const colon = base.lastIndexOf(":");
  const hasTag = colon > base.lastIndexOf("/");
  const repo = hasTag ? base.slice(0, colon) : base;
  return familiarRepository(repo) + name.slice(repo.length);
}

/** Splits "repo:tag" (canonical) into its repository and tag. */
export function splitTag(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(":");
  return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
}

/** Whether a registry host is on the loopback (plain HTTP is allowed there, as Docker does). */
export function isLoopback(domain: string): boolean {
  const host = domain.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1";
}
