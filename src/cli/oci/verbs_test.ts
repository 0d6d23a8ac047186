import assert from "node:assert/strict";
import { emptyStats } from "../../cgroups/driver.ts";
import { parseSignal } from "./kill.ts";
import { goRuncStats, parseDuration } from "./events.ts";
import { formatLogLine } from "./log.ts";
import { parseBytes } from "./update.ts";

Deno.test("parseSignal takes names with or without SIG, numbers and RTMIN+n", () => {
  assert.equal(parseSignal("KILL"), 9);
  assert.equal(parseSignal("SIGTERM"), 15);
  assert.equal(parseSignal("sigusr1"), 10);
  assert.equal(parseSignal("9"), 9);
  assert.equal(parseSignal("RTMIN+2"), 36);
  assert.throws(() => parseSignal("NOPE"), /unknown signal/);
  assert.throws(() => parseSignal("99"), /unknown signal/);
});

Deno.test("formatLogLine: logrus's JSON and text forms", () => {
  const t = new Date("2024-01-02T03:04:05.000Z");
  assert.equal(
    formatLogLine("json", "error", 'bad "x"', t),
    '{"level":"error","msg":"bad \\"x\\"","time":"2024-01-02T03:04:05.000Z"}',
  );
  assert.equal(
    formatLogLine("text", "warning", "w", t),
    'time="2024-01-02T03:04:05.000Z" level=warning msg="w"',
  );
});

Deno.test("goRuncStats maps cgroup figures onto go-runc's Stats", () => {
  const s = emptyStats();
  s.cpu.usageNs = 5;
  s.cpu.perCpuNs = [2, 3];
  s.memory.usage = 100;
  s.memory.limit = 200;
  s.pids.current = 3;
  s.blkio.readBytes = 7;
  const g = goRuncStats(s) as Record<string, Record<string, unknown>>;
  assert.deepEqual(g.cpu!.usage, { total: 5, percpu: [2, 3], kernel: 0, user: 0 });
  assert.deepEqual(g.memory!.usage, { limit: 200, usage: 100, max: 0, failcnt: 0 });
  assert.deepEqual(g.pids, { current: 3, limit: 0 });
  assert.equal((g.blkio!.ioServiceBytesRecursive as { value: number }[])[0]!.value, 7);
});

Deno.test("parseDuration and parseBytes", () => {
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1m"), 60000);
  assert.throws(() => parseDuration("5"), /invalid duration/);
  assert.equal(parseBytes("64m"), 64 * 1024 * 1024);
  assert.equal(parseBytes("1G"), 1024 ** 3);
  assert.equal(parseBytes("-1"), -1);
  assert.throws(() => parseBytes("lots"), /invalid size/);
});
