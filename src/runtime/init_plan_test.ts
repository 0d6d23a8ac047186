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
    keepFds: [13],
    exe: { fd: 15, unmap: [{ start: 0x10000n, length: 0x2000n }], mm: Array(11).fill(0x20000n) },
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

Deno.test("initSteps leaves the child only its stdio and pipes before it resolves anything", () => {
  const steps = sample();
  const ops = steps.map((s) => s.op);
  assert.equal(ops[1], "hide-exe", "the executable goes right after the sync");
  const firstClose = ops.indexOf("close-fds");
  assert.ok(firstClose < ops.indexOf("mount"), "closed before the first mount in the rootfs");
  assert.ok(ops.indexOf("dup2") < firstClose, "stdio is in place before the close");
  assert.deepEqual(steps[firstClose], { op: "close-fds", keep: [13] });
  const lastClose = ops.lastIndexOf("close-fds");
  assert.equal(ops[lastClose + 1], "chdir", "closed again right before the chdir");
  assert.deepEqual(steps[lastClose], { op: "close-fds", keep: [13] });
});

Deno.test("initSteps keeps the console socket until the console step, and preserved fds", () => {
  const spec = {
    ociVersion: "1.0.2",
    process: { args: ["sh"], cwd: "/", user: { uid: 0, gid: 0 } },
  };
  const steps = initSteps(spec, {
    syncFd: 10,
    syncWriteFd: 11,
    rootfs: "/r",
    created: new Set(["mount"]),
    unshareAfterSync: [],
    join: [],
    console: { socketFd: 20, slotFd: 21, rows: 24, cols: 80 },
    stdio: [],
    mountCgroup2: false,
    lastCap: 40,
    maskedKind: () => undefined,
    searchPath: [],
    preserveFds: 2,
    keepFds: [13],
  });
  const closes = steps.filter((s) => s.op === "close-fds");
  assert.deepEqual(closes, [
    { op: "close-fds", keep: [3, 4, 13, 20, 21] },
    { op: "close-fds", keep: [3, 4, 13] },
  ]);
  const ops = steps.map((s) => s.op);
  assert.ok(ops.indexOf("console") < ops.lastIndexOf("close-fds"));
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

const ociGolden = new URL("./testdata/oci_init_steps.golden", import.meta.url);

/** An OCI create: exec fifo, console socket, time namespace, personality, createContainer hooks. */
function ociSample() {
  const caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
  return initSteps({
    ociVersion: "1.1.0",
    process: {
      terminal: true,
      consoleSize: { height: 30, width: 100 },
      user: { uid: 0, gid: 0, additionalGids: [10] },
      args: ["sh"],
      env: ["PATH=/bin"],
      cwd: "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      noNewPrivileges: true,
    },
    root: { path: "rootfs" },
    hostname: "oci",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro"] },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }, { type: "time" }],
      timeOffsets: { monotonic: { secs: 10 } },
      personality: { domain: "LINUX32" },
      seccomp: {
        defaultAction: "SCMP_ACT_ALLOW",
        flags: ["SECCOMP_FILTER_FLAG_LOG"],
        syscalls: [{ names: ["kcmp"], action: "SCMP_ACT_ERRNO" }],
      },
    },
  }, {
    syncFd: 10,
    syncWriteFd: 11,
    rootfs: "/r",
    created: new Set(["mount", "pid", "uts", "time"]),
    unshareAfterSync: [],
    join: [],
    console: { socketFd: 14, slotFd: 15, rows: 30, cols: 100 },
    stdio: [],
    mountCgroup2: false,
    cgroupBinds: [
      { name: "cpu,cpuacct", source: "/sys/fs/cgroup/cpu,cpuacct/c" },
      { name: "memory", source: "/sys/fs/cgroup/memory/c" },
    ],
    lastCap: 40,
    maskedKind: () => undefined,
    searchPath: ["/bin"],
    notifyFd: 13,
    pauseBeforePivot: true,
    execFifoFd: 16,
    startHooks: true,
    execPath: "/bin/sh",
    preserveFds: 2,
    timeOffsets: { monotonic: { secs: 10 } },
  });
}

Deno.test("initSteps compiles an OCI create into the golden step list", () => {
  const text = ociSample().map((s, i) => `${String(i).padStart(2)} ${formatStep(s)}`).join("\n") +
    "\n";
  if (Deno.env.get("UPDATE_GOLDEN")) Deno.writeTextFileSync(ociGolden, text);
  assert.equal(
    text,
    Deno.readTextFileSync(ociGolden),
    "run with UPDATE_GOLDEN=1 after an intended change",
  );
});

Deno.test("initSteps for OCI create: the init holds only the fifo while it waits, then execs", () => {
  const steps = ociSample();
  const ops = steps.map((s) => s.op);
  const close = steps.find((s) => s.op === "close-from");
  assert.deepEqual(close, { op: "close-from", from: 5, keep: [16, 13] });
  assert.ok(ops.indexOf("close-from") < ops.indexOf("notify", ops.indexOf("pivot-root")));
  assert.deepEqual(ops.slice(-4), ["close", "wait-start", "wait-start-hooks", "exec"]);
  assert.ok(
    ops.indexOf("wait") < ops.indexOf("pivot-root"),
    "createContainer hooks before pivot_root",
  );
  const lowered = lower(steps);
  const closeFrom = steps.findIndex((s) => s.op === "close-from");
  const ranges = lowered.labels.filter((l) => l.step === closeFrom).map((l) => l.detail);
  assert.deepEqual(ranges, ["5..12", "14..15", "17.."]);
  // Before anything of the container's is resolved, and before the chdir: only what it needs.
  const closes = steps.filter((s) => s.op === "close-fds");
  assert.deepEqual(closes, [
    { op: "close-fds", keep: [3, 4, 13, 16, 14, 15, 10] },
    { op: "close-fds", keep: [3, 4, 13, 16] },
  ]);
});
