// Each namespace checked from inside the container and from the host.

import assert from "node:assert/strict";
import { host, rootTest, tsbox } from "./lib/harness.ts";

async function pidOf(root: string, name: string): Promise<number> {
  const r = await tsbox(["inspect", "-f", "{{.State.Pid}}", name], { root, expect: 0 });
  return Number(r.stdout.trim());
}

rootTest("pid: the command is PID 1 and ps sees only the container", async (root) => {
  const r = await tsbox([
    "run",
    "--rm",
    "--network",
    "none",
    "busybox",
    "sh",
    "-c",
    "echo $$; ps -o pid,comm; true",
  ], { root, expect: 0 });
  const [pid, ...ps] = r.stdout.trim().split("\n");
  assert.equal(pid, "1");
  assert.deepEqual(ps.slice(1).map((l) => l.trim().split(/\s+/)[1]), ["sh", "ps"]);
});

rootTest(
  "every namespace of a container differs from the host's, except user without remap",
  async (root) => {
    await tsbox(["run", "-d", "--network", "none", "--name", "ns", "busybox", "sleep", "60"], {
      root,
      expect: 0,
    });
    const pid = await pidOf(root, "ns");
    for (const ns of ["pid", "mnt", "uts", "ipc", "net", "cgroup"]) {
      assert.notEqual(
        Deno.readLinkSync(`/proc/${pid}/ns/${ns}`),
        Deno.readLinkSync(`/proc/self/ns/${ns}`),
        ns,
      );
    }
    assert.equal(
      Deno.readLinkSync(`/proc/${pid}/ns/user`),
      Deno.readLinkSync("/proc/self/ns/user"),
    );
    const inspect = JSON.parse((await tsbox(["inspect", "ns"], { root, expect: 0 })).stdout)[0];
    assert.equal(inspect.Namespaces.network, Deno.readLinkSync(`/proc/${pid}/ns/net`));
  },
);

rootTest("mount: a mount made inside is absent on the host", async (root) => {
  await tsbox([
    "run",
    "-d",
    "--network",
    "none",
    "--cap-add",
    "SYS_ADMIN",
    "--name",
    "mnt-probe",
    "busybox",
    "sh",
    "-c",
    "mount -t tmpfs tsbox-probe /tmp && touch /tmp/inside && sleep 60",
  ], { root, expect: 0 });
  const pid = await pidOf(root, "mnt-probe");
  for (
    let i = 0;
    i < 50 && !Deno.readTextFileSync(`/proc/${pid}/mountinfo`).includes("tsbox-probe");
    i++
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(
    Deno.readTextFileSync(`/proc/${pid}/mountinfo`).includes("tsbox-probe"),
    "mounted inside",
  );
  assert.ok(
    !Deno.readTextFileSync("/proc/self/mountinfo").includes("tsbox-probe"),
    "not on the host",
  );
  // The container's root is not mounted anywhere the host can see either.
  assert.ok(
    !Deno.readTextFileSync("/proc/self/mountinfo").includes(root),
    "no rootfs mount on the host",
  );
});

rootTest("uts: --hostname sets the container's name and leaves the host's alone", async (root) => {
  const before = Deno.hostname();
  const r = await tsbox([
    "run",
    "--rm",
    "--network",
    "none",
    "--hostname",
    "box",
    "busybox",
    "sh",
    "-c",
    "hostname; cat /etc/hostname",
  ], { root, expect: 0 });
  assert.equal(r.stdout, "box\nbox\n");
  assert.equal(Deno.hostname(), before);
  const d = await tsbox(["run", "--rm", "--network", "none", "busybox", "hostname"], {
    root,
    expect: 0,
  });
  assert.match(d.stdout.trim(), /^[0-9a-f]{12}$/, "default hostname is the short id");
});

rootTest("ipc: SysV queues are not shared in either direction", async (root) => {
  const mk = await host("ipcmk", ["-Q"]);
  const id = mk.stdout.match(/(\d+)/)![1]!;
  try {
    const inside = await tsbox([
      "run",
      "--rm",
      "--network",
      "none",
      "busybox",
      "cat",
      "/proc/sysvipc/msg",
    ], { root, expect: 0 });
    assert.equal(inside.stdout.trim().split("\n").length, 1, "only the header inside");
    // ipcmk from the host, with its libraries, makes a queue inside.
    const libs = [
      "-v",
      "/usr/bin/ipcmk:/usr/bin/ipcmk:ro",
      "-v",
      "/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro",
      "-v",
      "/lib64:/lib64:ro",
    ];
    await tsbox([
      "run",
      "-d",
      "--network",
      "none",
      ...libs,
      "--name",
      "ipc-probe",
      "busybox",
      "sh",
      "-c",
      "ipcmk -Q -p 0600 && sleep 60",
    ], { root, expect: 0 });
    let seen = "";
    for (let i = 0; i < 50 && seen.trim().split("\n").length < 2; i++) {
      seen = (await tsbox(["exec", "ipc-probe", "cat", "/proc/sysvipc/msg"], { root })).stdout;
    }
    assert.equal(seen.trim().split("\n").length, 2, "the container sees its own queue");
    const hostQueues = Deno.readTextFileSync("/proc/sysvipc/msg").trim().split("\n").slice(1);
    assert.equal(hostQueues.length, 1, "the host sees only its own queue");
  } finally {
    await host("ipcrm", ["-q", id], { check: false });
  }
});

rootTest("network none: only lo, and it is up; host: the host's namespace", async (root) => {
  const r = await tsbox(["run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"], {
    root,
    expect: 0,
  });
  const links = r.stdout.trim().split("\n");
  assert.equal(links.length, 1);
  assert.match(links[0]!, /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  await tsbox(["run", "-d", "--network", "host", "--name", "hostnet", "busybox", "sleep", "60"], {
    root,
    expect: 0,
  });
  assert.equal(
    Deno.readLinkSync(`/proc/${await pidOf(root, "hostnet")}/ns/net`),
    Deno.readLinkSync("/proc/self/ns/net"),
  );
});

rootTest("cgroup namespace: the container sees its cgroup as the root", async (root) => {
  const r = await tsbox(
    ["run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/cgroup"],
    { root, expect: 0 },
  );
  for (const line of r.stdout.trim().split("\n")) assert.match(line, /:\/$/, line);
});

rootTest("user: --userns remap maps root to an unprivileged host range", async (root) => {
  const dir = await Deno.makeTempDir({ prefix: "tsbox-userns-" });
  try {
    await Deno.chown(dir, 100000, 100000);
    const r = await tsbox([
      "run",
      "--rm",
      "--network",
      "none",
      "--userns",
      "remap",
      "-v",
      `${dir}:/out`,
      "busybox",
      "sh",
      "-c",
      "cat /proc/self/uid_map; id -u; touch /out/made-by-root; stat -c %u /bin/busybox",
    ], { root, expect: 0 });
    const [map, uid, owner] = r.stdout.trim().split("\n");
    assert.deepEqual(map!.trim().split(/\s+/), ["0", "100000", "65536"]);
    assert.equal(uid, "0");
    assert.equal(owner, "0", "image files appear owned by the container's root (id-mapped layers)");
    assert.equal(
      Deno.statSync(`${dir}/made-by-root`).uid,
      100000,
      "on the host the file belongs to the mapped uid",
    );
    const d = await tsbox([
      "run",
      "-d",
      "--network",
      "none",
      "--userns",
      "remap",
      "--name",
      "remapped",
      "busybox",
      "sleep",
      "60",
    ], { root, expect: 0 });
    void d;
    const pid = await pidOf(root, "remapped");
    assert.notEqual(
      Deno.readLinkSync(`/proc/${pid}/ns/user`),
      Deno.readLinkSync("/proc/self/ns/user"),
    );
    assert.equal(
      Deno.readTextFileSync(`/proc/${pid}/uid_map`).trim().split(/\s+/).join(" "),
      "0 100000 65536",
    );
    assert.equal(Deno.statSync(`/proc/${pid}`).uid, 100000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { needs: ["userns", "idmap"] });
