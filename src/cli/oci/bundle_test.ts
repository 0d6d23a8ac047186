import assert from "node:assert/strict";
import type { Spec } from "../../spec/types.ts";
import { DEFAULT_DEVICES, specProblems, withDefaults } from "./bundle.ts";
import { exampleSpec } from "./spec.ts";

Deno.test("specProblems: the example spec is fine; each problem is named", () => {
  assert.deepEqual(specProblems(exampleSpec()), []);
  const bad = {
    ociVersion: "1.0.0",
    root: {},
    process: { args: [], cwd: "rel", user: {} },
    mounts: [{ destination: "tmp" }],
    linux: {
      namespaces: [{ type: "pid" }, { type: "pid" }, { type: "bogus" }, { type: "user" }],
      seccomp: { defaultAction: "SCMP_ACT_NOTIFY" },
    },
  } as unknown as Spec;
  const p = specProblems(bad).join("\n");
  for (
    const want of [
      "root.path is missing",
      "process.args is empty",
      "process.cwd",
      "uid and gid",
      '"pid" is listed twice',
      'unknown namespace type "bogus"',
      "not an absolute path",
      "SCMP_ACT_NOTIFY is not supported",
      "uidMappings",
    ]
  ) assert.ok(p.includes(want), `${want} in ${p}`);
});

Deno.test("withDefaults adds the default devices and runc's device rules, keeping the spec's", () => {
  const spec = withDefaults({
    ...exampleSpec(),
    linux: {
      devices: [{ path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o600 }],
      resources: { devices: [{ allow: false, access: "rwm" }] },
    },
  });
  const devices = spec.linux!.devices!;
  assert.equal(devices.length, DEFAULT_DEVICES.length);
  assert.equal(devices.find((d) => d.path === "/dev/null")!.fileMode, 0o600, "the spec's own");
  const rules = spec.linux!.resources!.devices!;
  assert.deepEqual(rules[0], { allow: false, access: "rwm" }, "the spec's rules come first");
  assert.ok(rules.some((r) => r.allow && r.major === 136), "then runc's (/dev/pts)");
});
