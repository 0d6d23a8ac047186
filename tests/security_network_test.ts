// Root tests of the loopback class of escapes (CVE-2020-8558): a container
// that sends a raw Ethernet frame to its gateway's MAC address with
// destination 127.0.0.1 must not reach a service bound to the host's
// loopback, whether or not a port is published on 127.0.0.1 (which turns
// route_localnet on for the bridge), with the default capabilities (which
// include NET_RAW, as Docker's) or NET_RAW added or dropped. All inside the
// test's own namespaces (tests/lib/netns.ts); the probe is a static C
// program (tests/fixtures/c/rawprobe.c) run inside the container.

import assert from "node:assert/strict";
import { cPrograms } from "./lib/cprog.ts";
import { type Topology, topologyTest, waitFor } from "./lib/netns.ts";

/** The default network's gateway and its bridge's fixed MAC (02:42 + the address). */
const GATEWAY = "172.17.0.1";
const GATEWAY_MAC = "02:42:ac:11:00:01";
/** A service of the host bound to 127.0.0.1 only, never published. */
const LOOPBACK_PORT = 9999;
/** The same kind of service on every address: the probe's control. */
const ANY_PORT = 9998;

/** Starts the host's services; returns a function that stops them. */
async function hostServices(t: Topology): Promise<() => Promise<void>> {
  const code = `
    for (const [hostname, port] of [["127.0.0.1", ${LOOPBACK_PORT}], ["0.0.0.0", ${ANY_PORT}]]) {
      const l = Deno.listen({ hostname, port });
      (async () => { for await (const c of l) c.close(); })();
    }
    console.log("ready");`;
  const child = await t.host.spawnInside([Deno.execPath(), "eval", code]);
  const reader = child.stdout.getReader();
  let text = "";
  await waitFor("the host's services", async () => {
    const { value } = await reader.read();
    text += new TextDecoder().decode(value ?? new Uint8Array());
    return text.includes("ready") || undefined;
  });
  return async () => {
    child.kill("SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await child.status;
  };
}

/** Runs the raw-frame probe from a fresh container; returns what it printed. */
async function probe(t: Topology, bin: string, dst: string, port: number, caps: string[] = []) {
  const r = await t.tsbox([
    "run",
    "--rm",
    ...caps,
    "-v",
    `${bin}:/t:ro`,
    "busybox",
    "/t/rawprobe",
    GATEWAY,
    GATEWAY_MAC,
    dst,
    String(port),
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function routeLocalnet(t: Topology): Promise<string> {
  const r = await t.host.run(["cat", "/proc/sys/net/ipv4/conf/tsbox0/route_localnet"]);
  return r.stdout.trim();
}

topologyTest(
  "a container's raw frame to 127.0.0.1 never reaches the host's loopback services",
  async (t) => {
    const bin = await cPrograms("rawprobe");
    const stop = await hostServices(t);
    let web: Deno.ChildProcess | undefined;
    try {
      // Default capabilities (NET_RAW included), no port published on 127.0.0.1.
      assert.equal(await probe(t, bin, GATEWAY, ANY_PORT), "synack", "the probe works");
      assert.equal(await probe(t, bin, "127.0.0.1", LOOPBACK_PORT), "nothing");
      assert.equal(await routeLocalnet(t), "0", "no port needs route_localnet");

      // A port published on 127.0.0.1 turns route_localnet on for the bridge...
      web = t.spawnTsbox([
        "run",
        "--rm",
        "--name",
        "local",
        "-p",
        "127.0.0.1:8082:80",
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo local > /www/index.html && httpd -f -p 80 -h /www",
      ]);
      const body = await waitFor("the port published on 127.0.0.1", async () => {
        const r = await t.host.run(["curl", "-sS", "-m", "3", "http://127.0.0.1:8082/"], {
          check: false,
        });
        return r.code === 0 ? r.stdout.trim() : undefined;
      }, 20_000);
      assert.equal(body, "local", "127.0.0.1-published ports keep working");
      assert.equal(await routeLocalnet(t), "1");
      // ... and the loopback services stay out of reach, whatever NET_RAW.
      assert.equal(await probe(t, bin, "127.0.0.1", LOOPBACK_PORT), "nothing");
      assert.equal(
        await probe(t, bin, "127.0.0.1", LOOPBACK_PORT, ["--cap-add", "NET_RAW"]),
        "nothing",
      );
      assert.equal(await probe(t, bin, GATEWAY, ANY_PORT, ["--cap-add", "NET_RAW"]), "synack");
      assert.equal(
        await probe(t, bin, "127.0.0.1", LOOPBACK_PORT, ["--cap-drop", "NET_RAW"]),
        "eperm",
        "without NET_RAW no frame can be sent at all",
      );
      const rules = (await t.host.run(["nft", "list", "chain", "ip", "tsbox", "input"])).stdout;
      assert.match(rules, /iifname "tsbox\*" ip daddr 127\.0\.0\.0\/8 ct status ! dnat drop/);
    } finally {
      await t.tsbox(["rm", "-f", "local"]);
      if (web) await web.output();
      await stop();
    }
    assert.equal(await routeLocalnet(t), "0", "off again with the last port that needed it");
  },
);
