import assert from "node:assert/strict";
import { defaultRunOptions } from "../spec/run_options.ts";
import { buildSpec } from "../spec/from_run.ts";
import { execCandidates, initSteps } from "./init_plan.ts";
import { lower } from "./lower.ts";
import { formatStep } from "./steps.ts";

const golden = new URL("./testdata/init_steps.golden", import.meta.url);

function sample() {
  const opts = {
    ...defaultRunOptions(),
    image: "busybox",
    command: ["sh", "-c", "echo hi"],
    user: "1000:1000",
    capDrop: ["NET_RAW"],
  };
  opts.securityOpt = ["no-new-privileges"];
  opts.ulimits = ["nproc=512:1024"];
  const spec = buildSpec(opts, {
    image: { Env: ["PATH=/usr/bin:/bin"] },
    hostname: "box",
    passwd: "",
    group: "",
    etcFiles: { hostname: "/c/hostname", hosts: "/c/hosts", resolvConf: "/c/resolv.conf" },
    envFileTexts: [],
    hostLimits: { RLIMIT_NOFILE: [1024n, 4096n], RLIMIT_NPROC: [4096n, 4096n] },
    canRaiseLimits: false,
  });
  return initSteps(spec, {
    syncFd: 10,
    syncWriteFd: 11,
    rootfs: "/r",
    created: new Set(["mount", "pid", "ipc", "uts", "network"]),
    unshareAfterSync: ["cgroup"],
    join: [],
    stdio: [{ from: 12, to: 0 }],
    mountCgroup2: true,
    lastCap: 40,
    maskedKind: (
      p,
    ) => (p === "/proc/kcore" || p === "/proc/keys"
      ? "file"
      : p === "/sys/firmware"
      ? "dir"
      : undefined),
    searchPath: ["/usr/bin", "/bin"],
  });
}

Deno.test("initSteps compiles a spec into the golden step list", () => {
  const text = sample().map((s, i) => `${String(i).padStart(2)} ${formatStep(s)}`).join("\n") +
    "\n";
  if (Deno.env.get("UPDATE_GOLDEN")) Deno.writeTextFileSync(golden, text);
  assert.equal(
    text,
    Deno.readTextFileSync(golden),
    "run with UPDATE_GOLDEN=1 after an intended change",
  );
});

Deno.test("initSteps orders the kernel's rules: wait first, pivot before caps, exec last", () => {
  const ops = sample().map((s) => s.op);
  assert.equal(ops[0], "wait-parent");
  assert.ok(
    ops.indexOf("unshare") < ops.indexOf("mount"),
    "cgroup namespace before cgroup2 is mounted",
  );
  assert.ok(ops.indexOf("pivot-root") < ops.indexOf("drop-bounding"));
  assert.ok(
    ops.indexOf("drop-bounding") < ops.indexOf("setresuid"),
    "bounding set dropped while CAP_SETPCAP is held",
  );
  assert.ok(ops.indexOf("keep-caps") < ops.indexOf("setresuid"));
  assert.ok(ops.indexOf("setresuid") < ops.indexOf("capset"));
  assert.equal(ops.at(-2), "reset-signals");
  assert.equal(ops.at(-1), "exec");
});

Deno.test("lower labels every op with its step", () => {
  const steps = sample();
  const { builder, labels } = lower(steps);
  assert.equal(builder.ops.length, labels.length);
  assert.equal(labels[0]!.syscall, "close");
  assert.equal(labels.at(-1)!.syscall, "execve");
  assert.ok(labels.every((l) => l.step >= 0 && l.step < steps.length));
});

Deno.test("execCandidates searches PATH for bare names only", () => {
  assert.deepEqual(execCandidates("sh", ["/usr/bin", "/bin/"]), ["/usr/bin/sh", "/bin/sh"]);
  assert.deepEqual(execCandidates("/bin/sh", ["/usr/bin"]), ["/bin/sh"]);
  assert.deepEqual(execCandidates("./run", []), ["./run"]);
});
