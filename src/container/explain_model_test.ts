import assert from "node:assert/strict";
import {
  bytes,
  missingCaps,
  namespaceSentence,
  overlayLayers,
  parseMountinfo,
  parseStatus,
  seccompSentence,
  summarizeMounts,
} from "./explain_model.ts";

const STATUS = `Name:\tsleep
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
CapInh:\t0000000000000000
CapPrm:\t00000000a80425fb
CapEff:\t00000000a80425fb
CapBnd:\t00000000a80425fb
CapAmb:\t0000000000000000
NoNewPrivs:\t1
Seccomp:\t2
Seccomp_filters:\t1
`;

Deno.test("parseStatus: capability masks, no_new_privs and seccomp", () => {
  const s = parseStatus(STATUS);
  assert.equal(s.capEff, 0xa80425fbn);
  assert.equal(s.noNewPrivs, true);
  assert.equal(s.seccomp, 2);
  assert.equal(s.seccompFilters, 1);
  assert.match(seccompSentence(s), /^seccomp mode 2 \(filter\): 1 BPF filter/);
  const dropped = missingCaps(s.capBnd);
  assert.ok(dropped.includes("CAP_SYS_ADMIN"));
  assert.ok(!dropped.includes("CAP_CHOWN"));
});

const MOUNTINFO = [
  "600 500 0:80 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/tsbox/images/a/rootfs:/l2,upperdir=/c/upper,workdir=/c/work",
  "601 600 0:81 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
  "602 600 0:82 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755",
  "603 600 8:1 /srv/out /out rw,relatime - ext4 /dev/sda1 rw",
  "604 601 0:83 / /proc/acpi ro,relatime - tmpfs tmpfs ro",
  "605 601 0:81 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw",
  "606 600 8:1 /with\\040space /data rw - ext4 /dev/sda1 rw",
].join("\n");

Deno.test("parseMountinfo and summarizeMounts: overlay layers, binds, tmpfs, masks", () => {
  const m = parseMountinfo(MOUNTINFO);
  assert.equal(m.length, 7);
  assert.equal(m[6]!.root, "/with space");
  const s = summarizeMounts(m, {
    maskedPaths: ["/proc/acpi", "/proc/kcore"],
    readonlyPaths: ["/proc/sys"],
  });
  assert.deepEqual(s.root?.layers, {
    lower: ["/var/lib/tsbox/images/a/rootfs", "/l2"],
    upper: "/c/upper",
    work: "/c/work",
  });
  assert.deepEqual(s.binds.map((b) => b.mountPoint), ["/out", "/data"]);
  assert.deepEqual(s.tmpfs.map((t) => t.mountPoint), ["/dev"]);
  assert.deepEqual(s.masked, ["/proc/acpi"]);
  assert.deepEqual(s.readonly, ["/proc/sys"]);
  assert.deepEqual(overlayLayers("rw"), { lower: [] });
});

Deno.test("namespaceSentence and bytes", () => {
  const base = { type: "network", link: "net:[1]", inode: 1, source: "/proc/1/ns/net" };
  assert.match(namespaceSentence({ ...base, sharedWith: "own" }), /its own network devices/);
  assert.match(namespaceSentence({ ...base, sharedWith: "host" }), /the host's \(shared/);
  assert.match(
    namespaceSentence({ ...base, sharedWith: "container web" }),
    /shared with container web/,
  );
  assert.equal(bytes(64 * 1024 * 1024), "64MiB");
  assert.equal(bytes(1536), "1.5KiB");
});
