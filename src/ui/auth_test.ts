import assert from "node:assert/strict";
import { authorize, hostAllowed, isLoopback, newToken, sameSecret } from "./auth.ts";

const token = newToken();
const req = (method: string, path: string, headers: Record<string, string> = {}) => ({
  method,
  url: new URL(`http://127.0.0.1:7420${path}`),
  headers: new Headers({ host: "127.0.0.1:7420", ...headers }),
});

Deno.test("newToken: 256 bits of hex, different each time", () => {
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.notEqual(newToken(), token);
});

Deno.test("sameSecret and isLoopback", () => {
  assert.ok(sameSecret("abc", "abc"));
  assert.ok(!sameSecret("abc", "abd"));
  assert.ok(!sameSecret("abc", "ab"));
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
    assert.ok(isLoopback(h), h);
  }
  for (const h of ["10.0.0.1", "evil.example", "127.0.0.1.evil.example"]) {
    assert.ok(!isLoopback(h), h);
  }
});

Deno.test("hostAllowed: loopback names on a loopback listener; only the address otherwise", () => {
  assert.ok(hostAllowed("127.0.0.1:7420", "127.0.0.1"));
  assert.ok(hostAllowed("localhost:9000", "127.0.0.1")); // an SSH forward to another port
  assert.ok(!hostAllowed("evil.example:7420", "127.0.0.1")); // DNS rebinding
  assert.ok(!hostAllowed(null, "127.0.0.1"));
  assert.ok(hostAllowed("10.0.0.5:7420", "10.0.0.5"));
  assert.ok(!hostAllowed("127.0.0.1:7420", "10.0.0.5"));
  assert.ok(hostAllowed("10.0.0.5:7420", "0.0.0.0")); // a wildcard: address literals only
  assert.ok(hostAllowed("[fe80::1]:7420", "0.0.0.0"));
  assert.ok(!hostAllowed("evil.example:7420", "0.0.0.0"));
});

Deno.test("authorize: token from the URL sets the cookie; none or a wrong one is 401", () => {
  assert.deepEqual(authorize(req("GET", `/?token=${token}`), token, "127.0.0.1"), {
    ok: true,
    setCookie: true,
  });
  assert.deepEqual(
    authorize(req("GET", "/", { cookie: `a=b; tsbox_ui=${token}` }), token, "127.0.0.1"),
    {
      ok: true,
      setCookie: false,
    },
  );
  assert.equal((authorize(req("GET", "/"), token, "127.0.0.1") as { status: number }).status, 401);
  const wrong = authorize(req("GET", `/?token=${newToken()}`), token, "127.0.0.1");
  assert.equal((wrong as { status: number }).status, 401);
});

Deno.test("authorize: foreign Host 403, cross-site POST refused, POST needs the header", () => {
  const foreign = authorize(
    req("GET", `/?token=${token}`, { host: "evil.example:7420" }),
    token,
    "127.0.0.1",
  );
  assert.equal((foreign as { status: number }).status, 403);
  const cross = authorize(
    req("POST", "/api/containers/x/stop", {
      origin: "http://evil.example",
      "x-tsbox-token": token,
    }),
    token,
    "127.0.0.1",
  );
  assert.equal((cross as { status: number }).status, 403);
  const cookieOnly = authorize(
    req("POST", "/api/containers/x/stop", { cookie: `tsbox_ui=${token}` }),
    token,
    "127.0.0.1",
  );
  assert.equal((cookieOnly as { status: number }).status, 401);
  assert.ok(
    authorize(
      req("POST", "/api/containers/x/stop", {
        origin: "http://127.0.0.1:7420",
        "x-tsbox-token": token,
      }),
      token,
      "127.0.0.1",
    ).ok,
  );
  const del = authorize(req("DELETE", "/api/x", { "x-tsbox-token": token }), token, "127.0.0.1");
  assert.equal((del as { status: number }).status, 405);
});
