// Root test of IPAM under load: 50 `tsbox run`s started at once on the
// default network each get their own address (leases are taken in one write
// transaction per container), and once they are gone no veth, lease or
// container rule is left. Inside the test's own namespaces.

import assert from "node:assert/strict";
import { topologyTest, waitFor } from "./lib/netns.ts";

const N = 50;

topologyTest(`${N} containers started in parallel get ${N} distinct addresses`, async (t) => {
  // Each container writes down its address, then holds it until all N have
  // one (the test creates /sync/go), so the N leases are held at once.
  const sync = await Deno.makeTempDir({ prefix: "tsbox-net-sync-" });
  try {
    const runs = Array.from({ length: N }, (_, i) =>
      t.tsbox([
        "run",
        "--rm",
        "--name",
        `par${i}`,
        "-v",
        `${sync}:/sync`,
        ...(i % 10 === 0 ? ["-p", `${9000 + i}:80`] : []),
        "busybox",
        "sh",
        "-c",
        `ip -4 -o addr show eth0 > /sync/par${i}; ` +
        "i=0; while [ ! -e /sync/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
      ]));
    const written = await waitFor(`${N} addresses`, async () => {
      const names = [...Deno.readDirSync(sync)].map((e) => e.name);
      const texts = await Promise.all(names.map((n) => Deno.readTextFile(`${sync}/${n}`)));
      return texts.filter((x) => x.includes("inet ")).length === N ? texts : undefined;
    }, 120_000).finally(() => Deno.writeTextFile(`${sync}/go`, ""));
    const results = await Promise.all(runs);
    results.forEach((r, i) => assert.equal(r.code, 0, `par${i}: ${r.stderr}`));
    const addresses = written.map((text) => text.match(/inet (172\.17\.\d+\.\d+)\/16/)![1]!);
    assert.equal(new Set(addresses).size, N, addresses.sort().join(" "));
  } finally {
    await Deno.writeTextFile(`${sync}/go`, "").catch(() => {});
    await Deno.remove(sync, { recursive: true });
  }

  const veths = (await t.host.ip<{ ifname: string }[]>("link")).filter((l) =>
    l.ifname.startsWith("veth")
  );
  assert.deepEqual(veths, []);
  const net = JSON.parse((await t.tsbox(["network", "inspect", "bridge"], { expect: 0 })).stdout);
  assert.deepEqual(net[0].Containers, {});
  const rules = (await t.host.run(["nft", "list", "chain", "ip", "tsbox", "ports"])).stdout;
  assert.doesNotMatch(rules, /dnat/);
  const ps = await t.tsbox(["ps", "-aq"], { expect: 0 });
  assert.equal(ps.stdout.trim(), "");
});
