import assert from "node:assert/strict";
import { parseNetworkMode, parseNetworkRequest } from "./request.ts";

Deno.test("parseNetworkMode: bridge, default, none, host, container:NAME, user networks", () => {
  assert.deepEqual(parseNetworkMode(""), { kind: "bridge", network: "bridge" });
  assert.deepEqual(parseNetworkMode("default"), { kind: "bridge", network: "bridge" });
  assert.deepEqual(parseNetworkMode("none"), { kind: "none" });
  assert.deepEqual(parseNetworkMode("host"), { kind: "host" });
  assert.deepEqual(parseNetworkMode("container:web"), { kind: "container", ref: "web" });
  assert.deepEqual(parseNetworkMode("backend"), { kind: "bridge", network: "backend" });
  assert.throws(() => parseNetworkMode("container:"), /container name missing/);
  assert.throws(() => parseNetworkMode("a b"), /invalid --network "a b"/);
});

Deno.test("parseNetworkRequest: ports only in bridge mode; -p refused with none and container:", () => {
  const opts = (network: string, publish: string[] = [], publishAll = false) => ({
    network,
    publish,
    publishAll,
  });
  assert.equal(parseNetworkRequest(opts("bridge", ["8080:80"]), undefined).ports.length, 1);
  assert.deepEqual(parseNetworkRequest(opts("host", ["8080:80"]), undefined).ports, []);
  assert.deepEqual(parseNetworkRequest(opts("none", [], true), { "80/tcp": {} }).ports, []);
  assert.throws(
    () => parseNetworkRequest(opts("none", ["80"]), undefined),
    /conflicting options: port publishing and the none network mode/,
  );
  assert.throws(
    () => parseNetworkRequest(opts("container:web", ["80"]), undefined),
    /port publishing and the container type network mode/,
  );
  assert.throws(() => parseNetworkRequest(opts("bridge", ["x"]), undefined), /invalid port/);
});
