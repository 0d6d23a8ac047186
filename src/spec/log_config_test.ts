import assert from "node:assert/strict";
import { DEFAULT_ROTATION, logRotation, parseLogSize, resolveLogConfig } from "./log_config.ts";

const MB = 1024 * 1024;
const opts = (size: number, files: number) => ({
  "max-size": String(size),
  "max-file": String(files),
});

Deno.test("resolveLogConfig: flags, then the host's defaults, then DEFAULT_ROTATION", () => {
  assert.equal(DEFAULT_ROTATION["max-size"], "20m");
  assert.deepEqual(resolveLogConfig(undefined, [], {}), {
    driver: "json-file",
    opts: opts(20 * MB, 5),
  });
  assert.deepEqual(resolveLogConfig("json-file", ["max-size=10m", "max-file=3"], {}), {
    driver: "json-file",
    opts: opts(10 * MB, 3),
  });
  // One option given: the other comes from the defaults.
  assert.deepEqual(resolveLogConfig(undefined, ["max-file=2"], {}), {
    driver: "json-file",
    opts: opts(20 * MB, 2),
  });
  // -1: never rotate (Docker's own default); the default max-file is dropped.
  assert.deepEqual(resolveLogConfig(undefined, ["max-size=-1"], {}), {
    driver: "json-file",
    opts: {},
  });
  const host = { logDriver: "local", logOpts: { "max-size": "1k", "max-file": "2" } };
  assert.deepEqual(resolveLogConfig(undefined, [], host), { driver: "local", opts: opts(1024, 2) });
  // Another driver than the host's: the host's options are not its own.
  assert.deepEqual(resolveLogConfig("json-file", [], host), {
    driver: "json-file",
    opts: opts(20 * MB, 5),
  });
  assert.deepEqual(resolveLogConfig("none", [], host), { driver: "none", opts: {} });
});

Deno.test("resolveLogConfig refuses what Docker refuses, naming it", () => {
  const bad: [string | undefined, string[], RegExp][] = [
    ["syslog", [], /no log driver named "syslog"/],
    [undefined, ["max-size=abc"], /invalid value for log opt max-size: "abc"/],
    [undefined, ["max-size=0"], /invalid value for log opt max-size/],
    [undefined, ["max-file=0"], /invalid value for log opt max-file: "0"/],
    [undefined, ["max-file=x"], /invalid value for log opt max-file/],
    [undefined, ["max-size=-1", "max-file=3"], /max-file can only be used with max-size/],
    [undefined, ["compress=true"], /unknown log opt "compress" for json-file log driver/],
    ["none", ["max-size=1m"], /unknown log opt "max-size" for none log driver/],
    [undefined, ["max-size"], /invalid log opt "max-size": expected KEY=VALUE/],
  ];
  for (const [driver, o, want] of bad) {
    assert.throws(() => resolveLogConfig(driver, o, {}), want, `${driver} ${o}`);
  }
  assert.throws(
    () => resolveLogConfig(undefined, [], { logOpts: { labels: "x" } }),
    /unknown log opt "labels"/,
  );
});

Deno.test("logRotation reads a stored LogConfig, old records included", () => {
  assert.deepEqual(logRotation({ driver: "json-file", opts: opts(1000, 3) }), {
    driver: "json-file",
    maxSize: 1000,
    maxFile: 3,
  });
  assert.deepEqual(logRotation({ driver: "none", opts: {} }), { driver: "none", maxFile: 1 });
  assert.deepEqual(logRotation(undefined), { driver: "json-file", maxFile: 1 });
  assert.deepEqual(logRotation({ driver: "json-file", opts: { "max-size": "10m" } }), {
    driver: "json-file",
    maxFile: 1,
  });
});

Deno.test("parseLogSize reads Docker's sizes", () => {
  assert.equal(parseLogSize("10m"), 10 * MB);
  assert.equal(parseLogSize("1.5k"), 1536);
  assert.equal(parseLogSize("2g"), 2 * 1024 * MB);
  assert.equal(parseLogSize("100"), 100);
  assert.throws(() => parseLogSize("1t"), /max-size/);
});
