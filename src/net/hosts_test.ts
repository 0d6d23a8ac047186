import assert from "node:assert/strict";
import { hostsFor } from "./hosts.ts";

const a = { id: "a1", name: "web", hostname: "a1b2c3", address: "172.18.0.2" };
const b = { id: "b2", name: "db", hostname: "db", address: "172.18.0.3" };

Deno.test("hostsFor: default network lists only the container itself, by hostname", () => {
  const text = hostsFor(a, [a, b], false);
  assert.match(text, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(text, /^172\.18\.0\.2\ta1b2c3$/m);
  assert.doesNotMatch(text, /db/);
});

Deno.test("hostsFor: a user network adds the own name and every peer's name", () => {
  const text = hostsFor(a, [a, b], true);
  assert.match(text, /^172\.18\.0\.2\ta1b2c3\tweb$/m);
  assert.match(text, /^172\.18\.0\.3\tdb$/m);
  assert.equal(text.match(/172\.18\.0\.2/g)?.length, 1);
  // A hostname equal to the name is not repeated.
  assert.match(hostsFor(b, [a, b], true), /^172\.18\.0\.3\tdb$/m);
});
