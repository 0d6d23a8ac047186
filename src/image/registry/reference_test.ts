import assert from "node:assert/strict";
import { canonical, familiar, isLoopback, parseReference, withDefaultTag } from "./reference.ts";

const full = (r: string) => canonical(withDefaultTag(parseReference(r)));

Deno.test("parseReference: Docker's normalization", () => {
  assert.equal(full("debian"), "docker.io/library/debian:latest");
  assert.equal(full("debian:12"), "docker.io/library/debian:12");
  assert.equal(full("user/app"), "docker.io/user/app:latest");
  assert.equal(full("index.docker.io/library/x"), "docker.io/library/x:latest");
  assert.equal(full("ghcr.io/org/x:1"), "ghcr.io/org/x:1");
  assert.equal(full("localhost:5000/x"), "localhost:5000/x:latest");
  assert.equal(full("localhost/x"), "localhost/x:latest");
  assert.equal(full("127.0.0.1:5000/a/b/c:v1.2-3"), "127.0.0.1:5000/a/b/c:v1.2-3");
  const d = `sha256:${"a".repeat(64)}`;
  assert.equal(full(`debian@${d}`), `docker.io/library/debian@${d}`);
  assert.equal(full(`debian:12@${d}`), `docker.io/library/debian:12@${d}`);
});

Deno.test("parseReference: refuses bad references", () => {
  for (const bad of ["", "Debian", "a b", "x:", "x@sha256:12", "-x", "x/", "x//y", "x:-bad"]) {
    assert.throws(() => parseReference(bad), /invalid reference format|must be lowercase/, bad);
  }
  assert.throws(() => parseReference("a".repeat(64)), /64-byte hexadecimal/);
  assert.throws(() => parseReference("Foo"), /repository name \(library\/Foo\) must be lowercase/);
});

Deno.test("familiar: Docker's short form", () => {
  assert.equal(familiar("docker.io/library/debian:latest"), "debian:latest");
  assert.equal(familiar("docker.io/user/app:1"), "user/app:1");
  assert.equal(familiar("localhost:5000/x:1"), "localhost:5000/x:1");
  assert.equal(
    familiar(`docker.io/library/d@sha256:${"b".repeat(64)}`),
    `d@sha256:${"b".repeat(64)}`,
  );
});

Deno.test("isLoopback", () => {
  assert.ok(isLoopback("localhost:5000"));
  assert.ok(isLoopback("127.0.0.1:40000"));
  assert.ok(isLoopback("[::1]:5000"));
  assert.ok(!isLoopback("registry.example:5000"));
  assert.ok(!isLoopback("10.0.0.1"));
});
