import assert from "node:assert/strict";
import { cgroupPathFor, expandSlice } from "./cgroup_path.ts";

Deno.test("expandSlice nests slices as systemd does", () => {
  assert.equal(expandSlice("system.slice"), "system.slice");
  assert.equal(expandSlice("a-b-c.slice"), "a.slice/a-b.slice/a-b-c.slice");
  assert.equal(expandSlice("-.slice"), "");
  assert.throws(() => expandSlice("a--b.slice"), /invalid slice/);
  assert.throws(() => expandSlice("noslice"), /invalid slice/);
});

Deno.test("cgroupPathFor: cgroupfs paths, the default, and systemd's slice:prefix:name", () => {
  assert.equal(cgroupPathFor("/machine/abc", "abc", false), "machine/abc");
  assert.equal(cgroupPathFor(undefined, "abc", false), "tsbox-runc/abc");
  assert.equal(cgroupPathFor("system.slice:crio:abc", "abc", true), "system.slice/crio-abc.scope");
  assert.equal(
    cgroupPathFor("kubepods-besteffort.slice:cri-containerd:x", "x", true),
    "kubepods.slice/kubepods-besteffort.slice/cri-containerd-x.scope",
  );
  assert.equal(cgroupPathFor("machine.slice::pod.slice", "p", true), "machine.slice/pod.slice");
  assert.throws(() => cgroupPathFor("/a/b", "x", true), /slice:prefix:name/);
  assert.throws(() => cgroupPathFor("system.slice:a:b", "x", false), /--systemd-cgroup/);
  assert.throws(() => cgroupPathFor("/a/../b", "x", false), /invalid cgroupsPath/);
});
