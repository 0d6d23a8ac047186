import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";

Deno.test("parseConfig: known keys, each checked", () => {
  assert.deepEqual(parseConfig("{}", "f"), {});
  assert.deepEqual(
    parseConfig('{"pidsLimit": 2048, "logOpts": {"max-size": "10m"}}', "f"),
    { pidsLimit: 2048, logOpts: { "max-size": "10m" } },
  );
});

Deno.test("parseConfig: unknown keys, bad values and non-JSON name the file and key", () => {
  assert.throws(
    () => parseConfig('{"pidLimit": 1}', "/etc/x.json"),
    /"\/etc\/x.json": unknown key "pidLimit"/,
  );
  assert.throws(
    () => parseConfig('{"pidsLimit": 0}', "f"),
    /pidsLimit: expected a positive integer/,
  );
  assert.throws(() => parseConfig('{"logOpts": {"max-size": 10}}', "f"), /logOpts: expected/);
  assert.throws(() => parseConfig("[1]", "f"), /expected a JSON object/);
  assert.throws(() => parseConfig("{", "f"), /not JSON/);
});
