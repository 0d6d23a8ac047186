import assert from "node:assert/strict";
import {
  authKeyHost,
  credentialsFor,
  parseChallenge,
  removeCredentials,
  storeCredentials,
} from "./auth.ts";

Deno.test("parseChallenge reads Bearer and Basic challenges", () => {
  const c = parseChallenge(
    'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
  );
  assert.equal(c.scheme, "bearer");
  assert.deepEqual(c.params, {
    realm: "https://auth.example/token",
    service: "registry.example",
    scope: "repository:a/b:pull",
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), {
    scheme: "basic",
    params: { realm: "Registry Realm" },
  });
});

Deno.test("authKeyHost normalizes Docker's keys", () => {
  assert.equal(authKeyHost("https://index.docker.io/v1/"), "docker.io");
  assert.equal(authKeyHost("localhost:5000"), "localhost:5000");
  assert.equal(authKeyHost("https://r.example:443/v2/"), "r.example:443");
});

Deno.test("storeCredentials writes an auths entry 0600 that credentialsFor and removeCredentials use", () => {
  const dir = Deno.makeTempDirSync();
  const old = Deno.env.get("REGISTRY_AUTH_FILE");
  Deno.env.set("REGISTRY_AUTH_FILE", `${dir}/auth.json`);
  try {
    Deno.writeTextFileSync(`${dir}/auth.json`, JSON.stringify({ auths: {}, credsStore: "x" }));
    storeCredentials("127.0.0.1:5000", { username: "u", password: "p:w" });
    const doc = JSON.parse(Deno.readTextFileSync(`${dir}/auth.json`));
    assert.equal(doc.credsStore, "x", "other keys are kept");
    assert.equal(atob(doc.auths["127.0.0.1:5000"].auth), "u:p:w");
    assert.equal(Deno.statSync(`${dir}/auth.json`).mode! & 0o777, 0o600);
    assert.deepEqual(credentialsFor("127.0.0.1:5000"), { username: "u", password: "p:w" });
    assert.equal(removeCredentials("127.0.0.1:5000"), true);
    assert.equal(credentialsFor("127.0.0.1:5000"), undefined);
    assert.equal(removeCredentials("127.0.0.1:5000"), false);
  } finally {
    if (old === undefined) Deno.env.delete("REGISTRY_AUTH_FILE");
    else Deno.env.set("REGISTRY_AUTH_FILE", old);
    Deno.removeSync(dir, { recursive: true });
  }
});
