// The filesystem inside a container: /proc, /sys, /dev, /etc files, volumes,
// --read-only, --tmpfs, and an image that stays pristine under the overlay.

import assert from "node:assert/strict";
import { rootTest, tsbox } from "./lib/harness.ts";

const run = (root: string, ...args: string[]) =>
  tsbox(["run", "--rm", "--network", "none", ...args], { root });

rootTest("/proc is the container's, /sys is read-only", async (root) => {
  const r = await run(
    root,
    "busybox",
    "sh",
    "-c",
    "ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; touch /sys/x 2>&1; grep ' /sys ' /proc/mounts",
  );
  const [pids, touch, sys] = r.stdout.split("\n");
  const nums = pids!.trim().split(" ").map(Number);
  assert.equal(nums[0], 1);
  assert.ok(nums.every((n) => n < 20), `only the container's few processes: ${pids}`);
  assert.match(touch!, /Read-only file system/);
  assert.match(sys!, /^sysfs \/sys sysfs ro,/);
});

rootTest("/dev is a tmpfs with the standard nodes, devpts, shm and mqueue", async (root) => {
  const r = await run(
    root,
    "busybox",
    "sh",
    "-c",
    [
      "ls /dev | tr '\\n' ' '; echo",
      "stat -c '%n %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty",
      "readlink /dev/ptmx",
      "grep -E ' /dev(/pts|/shm|/mqueue)? ' /proc/mounts | cut -d' ' -f2,3",
      "echo x > /dev/shm/ok && cat /dev/shm/ok",
      "echo x > /dev/full 2>&1 || echo full-refused",
      "head -c 4 /dev/zero | wc -c",
    ].join("; "),
  );
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  for (
    const n of [
      "null",
      "zero",
      "full",
      "random",
      "urandom",
      "tty",
      "ptmx",
      "pts",
      "shm",
      "mqueue",
      "fd",
      "stdin",
      "stdout",
      "stderr",
    ]
  ) {
    assert.match(out.split("\n")[0]!, new RegExp(`(^| )${n}( |$)`), n);
  }
  assert.match(out, /\/dev\/null 1:3 666/);
  assert.match(out, /\/dev\/urandom 1:9 666/);
  assert.match(out, /\/dev\/tty 5:0 666/);
  assert.match(out, /\npts\/ptmx\n/);
  for (const m of ["/dev tmpfs", "/dev/pts devpts", "/dev/shm tmpfs", "/dev/mqueue mqueue"]) {
    assert.ok(out.includes(`${m}\n`), m);
  }
  assert.match(out, /\nx\n/);
  assert.match(out, /full-refused|No space left/);
  assert.match(out, /\n4\n$/);
});

rootTest("/etc/hostname, /etc/hosts and /etc/resolv.conf are the container's", async (root) => {
  const r = await run(
    root,
    "--hostname",
    "etcbox",
    "busybox",
    "sh",
    "-c",
    "cat /etc/hostname; grep localhost /etc/hosts | head -1; grep -c nameserver /etc/resolv.conf; grep /etc/ /proc/mounts | cut -d' ' -f2 | sort | tr '\\n' ' '",
  );
  const [hn, hosts, ns, mounts] = r.stdout.split("\n");
  assert.equal(hn, "etcbox");
  assert.match(hosts!, /^127\.0\.0\.1\s+localhost/);
  assert.ok(Number(ns) >= 1, "has a nameserver");
  assert.equal(mounts, "/etc/hostname /etc/hosts /etc/resolv.conf ");
  const resolv = (await run(root, "busybox", "cat", "/etc/resolv.conf")).stdout;
  assert.doesNotMatch(resolv, /^nameserver 127\./m, "loopback nameservers are replaced");
});

rootTest("-v binds host directories read-write or read-only", async (root) => {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-vol-" });
  try {
    await Deno.writeTextFile(`${dir}/in`, "from host\n");
    const r = await run(
      root,
      "-v",
      `${dir}:/data`,
      "-v",
      `${dir}:/ro:ro`,
      "busybox",
      "sh",
      "-c",
      "cat /data/in; echo from container > /data/out; echo x > /ro/nope 2>&1 || echo ro-refused",
    );
    assert.match(r.stdout, /from host\n/);
    assert.match(r.stdout, /Read-only file system|ro-refused/);
    assert.equal(await Deno.readTextFile(`${dir}/out`), "from container\n");
    await assert.rejects(Deno.stat(`${dir}/nope`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

rootTest("--read-only root with a --tmpfs for scratch", async (root) => {
  const r = await run(
    root,
    "--read-only",
    "--tmpfs",
    "/scratch",
    "busybox",
    "sh",
    "-c",
    "touch /x 2>&1; touch /scratch/ok && echo scratch-ok; grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
  );
  assert.match(r.stdout, /Read-only file system/);
  assert.match(r.stdout, /scratch-ok\ntmpfs\n/);
});

rootTest("writes go to the container's layer; the image stays pristine", async (root) => {
  await tsbox([
    "run",
    "--network",
    "none",
    "--name",
    "writer",
    "busybox",
    "sh",
    "-c",
    "echo changed > /etc/os-release; rm /bin/ls; echo new > /newfile",
  ], { root, expect: 0 });
  const again = await run(
    root,
    "busybox",
    "sh",
    "-c",
    "cat /etc/os-release | head -1; ls / >/dev/null && echo ls-ok; test -e /newfile || echo no-newfile",
  );
  assert.doesNotMatch(again.stdout, /changed/);
  assert.match(again.stdout, /ls-ok\nno-newfile\n/);
  const img = JSON.parse(
    (await tsbox(["inspect", "--type", "image", "busybox"], { root, expect: 0 })).stdout,
  )[0];
  assert.ok(
    Deno.statSync(`${img.GraphDriver.Data.LowerDir}/bin/ls`),
    "the image still has /bin/ls",
  );
  const c = JSON.parse((await tsbox(["inspect", "writer"], { root, expect: 0 })).stdout)[0];
  const upper = c.GraphDriver.Data.UpperDir;
  assert.equal(Deno.readTextFileSync(`${upper}/newfile`), "new\n");
  await tsbox(["rm", "writer"], { root, expect: 0 });
  await assert.rejects(Deno.stat(upper), "the layer goes with the container");
});

rootTest("--rootfs runs a directory as is", async (root) => {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-rootfs-" });
  try {
    const img = JSON.parse(
      (await tsbox(["inspect", "--type", "image", "busybox"], { root, expect: 0 })).stdout,
    )[0];
    await new Deno.Command("cp", { args: ["-a", `${img.GraphDriver.Data.LowerDir}/.`, dir] })
      .output();
    const r = await tsbox([
      "run",
      "--rm",
      "--network",
      "none",
      "--rootfs",
      dir,
      "sh",
      "-c",
      "echo hi > /from-container; cat /etc/os-release | head -1",
    ], { root, expect: 0 });
    assert.match(r.stdout, /tsbox busybox/);
    assert.equal(Deno.readTextFileSync(`${dir}/from-container`), "hi\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { image: true });
