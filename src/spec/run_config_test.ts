import assert from "node:assert/strict";
import { defaultRunOptions, type RunOptions } from "./run_options.ts";
import { buildConfig, checkRunOptions, parseLabels } from "./run_config.ts";

const opts = (o: Partial<RunOptions>): RunOptions => ({
  ...defaultRunOptions(),
  image: "busybox",
  command: ["true"],
  ...o,
});

Deno.test("checkRunOptions: bad flags are refused before anything else runs", () => {
  assert.deepEqual(checkRunOptions(opts({})), []);
  for (
    const [o, re] of [
      [{ resources: { ...defaultRunOptions().resources, memory: "64x" } }, /64x/],
      [{ restart: "sometimes" }, /invalid restart policy/],
      [{ restart: "always", autoRemove: true }, /--restart and --rm/],
      [{ volumes: ["relative:/x"] }, /must be absolute/],
      [{ tmpfs: ["/proc/x"] }, /cannot mount over \/proc/],
      [{ publish: ["99999:80"] }, /out of range/],
      [{ network: "none", publish: ["80"] }, /conflicting options/],
      [{ capAdd: ["NOPE"] }, /invalid capability/],
      [{ securityOpt: ["apparmor=x"] }, /invalid --security-opt/],
      [{ ulimits: ["nofile"] }, /invalid ulimit/],
      [{ sysctls: ["kernel.hostname=x"] }, /not allowed/],
      [{ userns: "remap", network: "host" }, /--userns remap/],
      [{ workdir: "rel" }, /absolute path/],
      [{ labels: ["=x"] }, /empty key/],
    ] as [Partial<RunOptions>, RegExp][]
  ) {
    assert.throws(() => checkRunOptions(opts(o)), re, JSON.stringify(o));
  }
  assert.match(
    checkRunOptions(opts({ network: "host", publish: ["80:80"] }))[0]!,
    /Published ports are discarded/,
  );
});

Deno.test("buildConfig: the spec plus tsbox's extras, from flags and the image", () => {
  const c = buildConfig(
    opts({ publish: ["8080:80"], publishAll: true, restart: "on-failure:2", labels: ["x=1"] }),
    {
      image: { Cmd: ["sh"], ExposedPorts: { "80/tcp": {}, "443/tcp": {} }, Labels: { img: "y" } },
      imageRef: "busybox",
      imageId: "abc",
      hostname: "h",
      passwd: "",
      group: "",
      etcFiles: { hostname: "/h", hosts: "/hs", resolvConf: "/r" },
      envFileTexts: [],
      hostLimits: {},
      canRaiseLimits: true,
    },
  );
  assert.deepEqual(c.rootfs, { kind: "image", image: "busybox", imageId: "abc" });
  assert.deepEqual(c.network.mode, { kind: "bridge", network: "bridge" });
  assert.deepEqual(
    c.network.ports.map((p) => `${p.hostPort ?? "*"}:${p.containerPort}`),
    ["8080:80", "*:443"],
  );
  assert.deepEqual(c.restart, { name: "on-failure", maxRetries: 2 });
  assert.deepEqual(c.labels, { img: "y", x: "1" });
  assert.equal(c.spec.process?.args[0], "true");
  assert.deepEqual(parseLabels(["a", "b=c=d"]), { a: "", b: "c=d" });
});
