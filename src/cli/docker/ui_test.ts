import assert from "node:assert/strict";
import { parseListen } from "./ui.ts";

Deno.test("parseListen: ADDR:PORT, [IPv6]:PORT; anything else is a usage error", () => {
  assert.deepEqual(parseListen("127.0.0.1:7420"), { hostname: "127.0.0.1", port: 7420 });
  assert.deepEqual(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  assert.deepEqual(parseListen("localhost:80"), { hostname: "localhost", port: 80 });
  for (const bad of ["127.0.0.1", ":80", "127.0.0.1:99999", "a b:1", "::1:80"]) {
    assert.throws(() => parseListen(bad), /invalid listen address/, bad);
  }
});
