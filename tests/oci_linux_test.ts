// OCI conformance: config.json's root, hostname and `linux` section
// (config.md, config-linux.md), each field checked from inside the
// container and, where the host sees it better, from outside.

import assert from "node:assert/strict";
import { X86_64_TABLE } from "../ffi/x86_64/syscall_table.ts";
import {
  IS_RUNC,
  makeBundle,
  oci,
  ociDetached,
  ociTest,
  runBundle,
  runOk,
  state,
} from "./oci/lib.ts";

ociTest("root.readonly and a relative root.path", async (ctx) => {
  const r = await runBundle(
    ctx,
    ["sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro"],
    (c) => {
      c.root.readonly = true;
    },
  );
  assert.equal(r.stdout, "ro\n");
  const w = await runOk(ctx, ["sh", "-c", "touch /x && echo rw"]);
  assert.equal(w, "rw\n");
});

ociTest("hostname in a new UTS namespace", async (ctx) => {
  const out = await runOk(ctx, ["hostname"], (c) => c.hostname = "box-1");
  assert.equal(out, "box-1\n");
});

ociTest("domainname in a new UTS namespace", async (ctx) => {
  const out = await runOk(ctx, ["cat", "/proc/sys/kernel/domainname"], (c) => {
    c.domainname = "example.test";
  });
  assert.equal(out, "example.test\n");
}, { tsboxOnly: "runc 1.1 ignores domainname" });

ociTest("linux.namespaces: listed ones are new, unlisted ones are the host's", async (ctx) => {
  const out = await runOk(ctx, [
    "sh",
    "-c",
    "for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done",
  ], (c) => {
    c.linux.namespaces = [{ type: "pid" }, { type: "mount" }, { type: "uts" }];
  });
  const [pid, net, ipc, uts, mnt] = out.trim().split("\n");
  const host = (n: string) => Deno.readLinkSync(`/proc/self/ns/${n}`);
  assert.notEqual(pid, host("pid"));
  assert.notEqual(uts, host("uts"));
  assert.notEqual(mnt, host("mnt"));
  assert.equal(net, host("net"), "no network namespace listed: the host's");
  assert.equal(ipc, host("ipc"));
});

ociTest(
  "linux.namespaces path: a second container joins the first one's network and ipc",
  async (ctx) => {
    const a = ctx.id();
    const bundleA = await makeBundle(ctx, a, ["sleep", "100"]);
    assert.equal(await ociDetached(ctx, ["create", "--bundle", bundleA, a], `${ctx.dir}/out`), 0);
    assert.equal((await oci(ctx, ["start", a])).code, 0);
    const pidA = (await state(ctx, a)).pid;
    const out = await runOk(ctx, [
      "sh",
      "-c",
      "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; ip -o link 2>/dev/null | wc -l",
    ], (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
        n.type === "network" || n.type === "ipc"
          ? { ...n, path: `/proc/${pidA}/ns/${n.type === "network" ? "net" : "ipc"}` }
          : n
      );
    });
    const [net, ipc] = out.trim().split("\n");
    assert.equal(net, Deno.readLinkSync(`/proc/${pidA}/ns/net`));
    assert.equal(ipc, Deno.readLinkSync(`/proc/${pidA}/ns/ipc`));
    assert.notEqual(net, Deno.readLinkSync("/proc/self/ns/net"));
  },
);

ociTest("user namespace with uidMappings and gidMappings", async (ctx) => {
  const out = await runOk(
    ctx,
    ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"],
    (c) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
      // The host's files in the busybox root belong to host root: unmapped, but readable.
      c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "sysfs");
    },
  );
  const lines = out.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
  assert.deepEqual(lines, ["0 200000 65536", "0 300000 65536", "0"]);
});

ociTest(
  "mounts in order, with their options: tmpfs size/mode, bind ro, a bind inside a tmpfs",
  async (ctx) => {
    const src = `${ctx.dir}/shared`;
    await Deno.mkdir(src);
    await Deno.writeTextFile(`${src}/f`, "from the host\n");
    const out = await runOk(ctx, [
      "sh",
      "-c",
      "stat -c '%a' /scratch; grep ' /scratch ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'; " +
      "cat /scratch/in/f; touch /scratch/in/g 2>/dev/null && echo rw || echo ro; " +
      "cat /data/f; touch /data/h && echo rw2",
    ], (c) => {
      c.mounts.push(
        {
          destination: "/scratch",
          type: "tmpfs",
          source: "tmpfs",
          options: ["size=1024k", "mode=710"],
        },
        { destination: "/scratch/in", type: "bind", source: src, options: ["rbind", "ro"] },
        { destination: "/data", type: "bind", source: src, options: ["bind", "rw"] },
      );
    });
    assert.equal(out, "710\nsize=1024k\nfrom the host\nro\nfrom the host\nrw2\n");
    await Deno.stat(`${src}/h`);
  },
);

ociTest("linux.sysctl in the container's network and ipc namespaces", async (ctx) => {
  const out = await runOk(ctx, [
    "cat",
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/kernel/msgmax",
  ], (c) => {
    c.linux.sysctl = { "net.ipv4.ip_forward": "1", "kernel.msgmax": "12345" };
  });
  assert.equal(out, "1\n12345\n");
});

ociTest("maskedPaths and readonlyPaths", async (ctx) => {
  const out = await runOk(ctx, [
    "sh",
    "-c",
    "wc -c < /proc/keys; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo rw || echo ro",
  ]);
  assert.equal(out, "0\n0\nro\n");
});

ociTest("linux.devices and the default devices; the cgroup's device rules", async (ctx) => {
  const out = await runOk(ctx, [
    "sh",
    "-c",
    "ls -ln /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/fuse | awk '{print $1, $5, $6, $NF}'; " +
    "head -c 3 /dev/zero | wc -c; head -c 1 /dev/fuse 2>/dev/null; echo fuse=$?",
  ], (c) => {
    c.linux.devices = [{
      path: "/dev/fuse",
      type: "c",
      major: 10,
      minor: 229,
      fileMode: 0o640,
      uid: 0,
      gid: 0,
    }];
  });
  const lines = out.trim().split("\n");
  const dev = (name: string) => lines.find((l) => l.endsWith(` /dev/${name}`));
  assert.equal(dev("full"), "crw-rw-rw- 1, 7 /dev/full");
  assert.equal(dev("null"), "crw-rw-rw- 1, 3 /dev/null");
  assert.equal(dev("tty"), "crw-rw-rw- 5, 0 /dev/tty");
  assert.equal(dev("fuse"), "crw-r----- 10, 229 /dev/fuse");
  assert.equal(lines.at(-2), "3");
  assert.equal(lines.at(-1), "fuse=1", "the device cgroup denies /dev/fuse (not in the rules)");
});

ociTest("linux.resources and cgroupsPath: limits in the named group", async (ctx) => {
  const id = ctx.id();
  const bundle = await makeBundle(ctx, id, ["sleep", "100"], (c) => {
    c.linux.resources.memory = { limit: 64 * 1024 * 1024 };
    c.linux.resources.pids = { limit: 42 };
    c.linux.resources.cpu = { shares: 512 };
  });
  assert.equal(await ociDetached(ctx, ["create", "--bundle", bundle, id], `${ctx.dir}/out`), 0);
  const pid = (await state(ctx, id)).pid;
  const groups = await Deno.readTextFile(`/proc/${pid}/cgroup`);
  const path = (ctl: string) =>
    new RegExp(`^\\d+:[^:]*\\b${ctl}\\b[^:]*:(.*)$`, "m").exec(groups)?.[1];
  assert.equal(path("memory"), `/tsbox-ocitest/${id}`);
  const read = (ctl: string, file: string) =>
    Deno.readTextFileSync(`/sys/fs/cgroup/${ctl}${path(ctl)}/${file}`).trim();
  assert.equal(read("memory", "memory.limit_in_bytes"), String(64 * 1024 * 1024));
  assert.equal(read("pids", "pids.max"), "42");
  assert.equal(read("cpu", "cpu.shares"), "512");
  const upd = await oci(ctx, ["update", "--resources", "-", id], {
    stdin: JSON.stringify({ pids: { limit: 17 } }),
  });
  assert.equal(upd.code, 0, upd.stderr);
  assert.equal(read("pids", "pids.max"), "17");
}, { needs: ["cgroup1"] });

ociTest("linux.seccomp: libseccomp's comparisons, multiple args, defaultErrnoRet", async (ctx) => {
  const GETPRIORITY = 140, KCMP = 312;
  const out = await runOk(ctx, [
    "sh",
    "-c",
    `for a in 0 5 9; do /checker syscall ${GETPRIORITY} $a 0; done; ` +
    `/checker syscall ${KCMP} 1 2 0 0 0; /checker syscall ${KCMP} 1 3 0 0 0; ` +
    `/checker syscall ${KCMP} 7 7 0 0 0; /checker syscall 999`,
  ], (c) => {
    c.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        {
          names: ["getpriority"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 33,
          args: [{ index: 0, value: 4, op: "SCMP_CMP_GT" }, {
            index: 1,
            value: 0,
            op: "SCMP_CMP_EQ",
          }],
        },
        {
          names: ["kcmp"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 34,
          args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, {
            index: 1,
            value: 3,
            op: "SCMP_CMP_LE",
          }],
        },
      ],
    };
  });
  const errnos = out.trim().split("\n").map((l) => /errno=(\d+)/.exec(l)![1]);
  // getpriority(0): allowed; (5) and (9): > 4 -> 33. kcmp(1,2): 34; (1,3): 34; (7,7): allowed.
  assert.deepEqual(errnos.slice(0, 5), ["0", "33", "33", "34", "34"]);
  assert.notEqual(errnos[5], "34");
  assert.equal(errnos[6], "38", "an unknown syscall number: ENOSYS, not the filter");
  // defaultErrnoRet: every syscall allowed but getpriority, which gets the default action.
  const def = await runOk(ctx, ["/checker", "syscall", String(GETPRIORITY), "0", "0"], (c) => {
    c.linux.seccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 99,
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{
        names: Object.keys(X86_64_TABLE).filter((n) => n !== "getpriority"),
        action: "SCMP_ACT_ALLOW",
      }],
    };
  });
  assert.match(def, /errno=99/);
});

ociTest("linux.personality: LINUX32", async (ctx) => {
  const out = await runOk(ctx, ["sh", "-c", "/checker personality; uname -m"], (c) => {
    c.linux.personality = { domain: "LINUX32" };
  });
  assert.equal(out, "8\ni686\n");
}, { tsboxOnly: "runc 1.1 ignores linux.personality" });

ociTest("linux.timeOffsets with a time namespace", async (ctx) => {
  const host = Number((await runOk(ctx, ["/checker", "clocks"])).split("\n")[0]!.split(" ")[1]);
  const out = await runOk(ctx, ["/checker", "clocks"], (c) => {
    c.linux.namespaces.push({ type: "time" });
    c.linux.timeOffsets = { monotonic: { secs: 86400 * 10 }, boottime: { secs: 86400 * 20 } };
  });
  const [mono, boot] = out.trim().split("\n").map((l) => Number(l.split(" ")[1]));
  assert.ok(mono! >= host + 86400 * 10 && mono! < host + 86400 * 10 + 60, `${mono} vs ${host}`);
  assert.ok(boot! >= 86400 * 20, `${boot}`);
}, { tsboxOnly: "runc 1.1 has no time namespace" });

ociTest("linux.rootfsPropagation and mountLabel are accepted", async (ctx) => {
  const out = await runOk(
    ctx,
    ["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo | wc -l"],
    (c) => {
      c.linux.rootfsPropagation = "rprivate";
    },
  );
  assert.equal(out, "1\n");
  void IS_RUNC;
});

ociTest("--systemd-cgroup: slice:prefix:name becomes the path systemd would use", async (ctx) => {
  const id = ctx.id();
  const bundle = await makeBundle(ctx, id, ["sleep", "100"], (c) => {
    c.linux.cgroupsPath = "tsboxoci.slice:oci:" + id;
  });
  const out = `${ctx.dir}/out`;
  const code = await ociDetached(ctx, ["--systemd-cgroup", "create", "--bundle", bundle, id], out);
  try {
    assert.equal(code, 0, await Deno.readTextFile(out).catch(() => ""));
    const pid = (await state(ctx, id)).pid;
    const groups = await Deno.readTextFile(`/proc/${pid}/cgroup`);
    assert.match(groups, new RegExp(`:memory:/tsboxoci\\.slice/oci-${id}\\.scope$`, "m"));
  } finally {
    await oci(ctx, ["delete", "--force", id]);
    ctx.ids.delete(id);
    for (
      const c of [
        "memory",
        "pids",
        "cpu",
        "cpuacct",
        "cpuset",
        "blkio",
        "devices",
        "freezer",
        "unified",
      ]
    ) {
      await Deno.remove(`/sys/fs/cgroup/${c}/tsboxoci.slice`).catch(() => {});
    }
    await Deno.remove("/sys/fs/cgroup/tsboxoci.slice").catch(() => {});
  }
}, { tsboxOnly: "runc's --systemd-cgroup asks systemd over D-Bus (none here)" });

ociTest("a cgroup mount shows the container's own groups, read-only", async (ctx) => {
  const v1 = (() => {
    try {
      return Deno.statSync("/sys/fs/cgroup/memory/memory.limit_in_bytes").isFile;
    } catch {
      return false;
    }
  })();
  const file = v1 ? "/sys/fs/cgroup/memory/memory.limit_in_bytes" : "/sys/fs/cgroup/memory.max";
  const out = await runOk(ctx, [
    "sh",
    "-c",
    `cat ${file}; cat ${v1 ? "/sys/fs/cgroup/pids/pids.max" : "/sys/fs/cgroup/pids.max"}; ` +
    `echo 1 > ${
      v1 ? "/sys/fs/cgroup/pids/pids.max" : "/sys/fs/cgroup/pids.max"
    } 2>/dev/null && echo rw || echo ro`,
  ], (c) => {
    c.mounts.push({
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    });
    c.linux.resources.memory = { limit: 96 * 1024 * 1024 };
    c.linux.resources.pids = { limit: 33 };
  });
  assert.equal(out, `${96 * 1024 * 1024}\n33\nro\n`);
});
