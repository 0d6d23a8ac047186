// Root tests of published ports (-p, -P): reachable from outside the host,
// from the host itself (127.0.0.1 and its own address) and from containers
// through the host's address (hairpin, including a container reaching its own
// port); two containers on 8080 and 8081; UDP (its conntrack entries go with
// the container); 127.0.0.1-only bindings;
// `ps` and `port` output; and refusals before anything is created (a port
// held by another container or by a host program, bad specs). All inside the
// test's own "host" and "outside" namespaces (tests/lib/netns.ts).

import assert from "node:assert/strict";
import { NETLINK_NETFILTER } from "../ffi/constants.ts";
import { dumpConntrack } from "../src/net/netlink/conntrack.ts";
import { NetlinkSocket } from "../src/net/netlink/socket.ts";
import { busyboxTarball } from "./lib/harness.ts";
import { denoInContainer, type Topology, topologyTest, udpAsk, waitFor } from "./lib/netns.ts";

/** `curl URL` from `ns`; the body, or undefined when it failed. */
async function get(ns: Topology["host"], url: string): Promise<string | undefined> {
  const r = await ns.run(["curl", "-sS", "-m", "3", url], { check: false });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** A busybox httpd in the foreground serving `body` at / on port 80. */
function webServer(body: string, extra = ""): string[] {
  return [
    "sh",
    "-c",
    `mkdir -p /www && echo ${body} > /www/index.html && httpd -p 80 -h /www && ${extra} sleep 60`,
  ];
}

/** An HTTP GET with busybox nc, from inside a container, printing the body's last line. */
const ncGet = (ip: string, port: number) =>
  `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} ${port} | tail -n 1`;

async function stopAll(t: Topology, names: string[], procs: Deno.ChildProcess[]): Promise<void> {
  await t.tsbox(["rm", "-f", ...names]);
  for (const p of procs) await p.output();
}

topologyTest(
  "published ports: outside, host loopback and address, hairpin, two containers",
  async (t) => {
    const out = await Deno.makeTempDir({ prefix: "tsbox-net-out-" });
    const web1 = t.spawnTsbox([
      "run",
      "--rm",
      "--name",
      "web1",
      "-p",
      "8080:80",
      "-v",
      `${out}:/out`,
      "busybox",
      ...webServer("one", `sleep 1; echo self:$(${ncGet(t.hostIp, 8080)}) > /out/self;`),
    ]);
    const web2 = t.spawnTsbox([
      "run",
      "--rm",
      "--name",
      "web2",
      "-p",
      "8081:80",
      "busybox",
      ...webServer("two"),
    ]);
    try {
      const url = (ip: string, port: number) => `http://${ip}:${port}/`;
      assert.equal(
        await waitFor("web1 from outside", () => get(t.outside, url(t.hostIp, 8080))),
        "one",
      );
      assert.equal(
        await waitFor("web2 from outside", () => get(t.outside, url(t.hostIp, 8081))),
        "two",
      );
      assert.equal(await get(t.host, url("127.0.0.1", 8080)), "one");
      assert.equal(await get(t.host, url("127.0.0.1", 8081)), "two");
      assert.equal(await get(t.host, url(t.hostIp, 8080)), "one");

      // Hairpin: another container through the host's address...
      const peer = await t.tsbox(["run", "--rm", "busybox", "sh", "-c", ncGet(t.hostIp, 8081)], {
        expect: 0,
      });
      assert.equal(peer.stdout.trim(), "two");
      // ... and web1 reaching its own published port (it wrote that down, see webServer's extra).
      const self = await waitFor("web1's request to itself", async () => {
        const text = await Deno.readTextFile(`${out}/self`).catch(() => "");
        return text.endsWith("\n") ? text.trim() : undefined;
      });
      assert.equal(self, "self:one");

      const ps = await t.tsbox(["ps"], { expect: 0 });
      assert.match(ps.stdout, /0\.0\.0\.0:8081->80\/tcp\s+web2/);
      const port = await t.tsbox(["port", "web2"], { expect: 0 });
      assert.equal(port.stdout.trim(), "80/tcp -> 0.0.0.0:8081");
      const one = await t.tsbox(["port", "web2", "80/tcp"], { expect: 0 });
      assert.equal(one.stdout.trim(), "0.0.0.0:8081");
    } finally {
      await stopAll(t, ["web1", "web2"], [web1, web2]);
      await Deno.remove(out, { recursive: true });
    }
    const rules = (await t.host.run(["nft", "list", "chain", "ip", "tsbox", "ports"])).stdout;
    assert.doesNotMatch(rules, /dnat/, "the rules went with the containers");
    assert.equal(await get(t.outside, `http://${t.hostIp}:8080/`), undefined);
  },
);

topologyTest("UDP publishing, and a binding on 127.0.0.1 only", async (t) => {
  const echo = `const s = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 53 });
    for await (const [d, a] of s) await s.send(new TextEncoder().encode("pong:" + new TextDecoder().decode(d)), a);`;
  const udp = t.spawnTsbox([
    "run",
    "--rm",
    "--name",
    "udp",
    "-p",
    "5353:53/udp",
    ...denoInContainer(),
    "busybox",
    "deno",
    "eval",
    "--unstable-net",
    echo,
  ]);
  const local = t.spawnTsbox([
    "run",
    "--rm",
    "--name",
    "local",
    "-p",
    "127.0.0.1:8082:80",
    "busybox",
    ...webServer("local"),
  ]);
  try {
    const answer = await waitFor("the UDP echo", async () => {
      const a = await udpAsk(t.outside, t.hostIp, 5353, "ping");
      return a || undefined;
    }, 20_000);
    assert.equal(answer, "pong:ping");
    assert.equal(await udpAsk(t.host, "127.0.0.1", 5353, "lo"), "pong:lo");
    assert.equal(
      await waitFor("local on 127.0.0.1", () => get(t.host, "http://127.0.0.1:8082/")),
      "local",
    );
    assert.equal(await get(t.outside, `http://${t.hostIp}:8082/`), undefined, "not from outside");
    const port = await t.tsbox(["port", "udp"], { expect: 0 });
    assert.equal(port.stdout.trim(), "53/udp -> 0.0.0.0:5353");
    // The UDP flow is tracked with its DNAT to the container; it goes with the container.
    const ip = (await t.tsbox(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "udp"], {
      expect: 0,
    })).stdout.trim();
    const mentions = () => {
      using nf = NetlinkSocket.open(NETLINK_NETFILTER, { netns: t.host.fd });
      return dumpConntrack(nf).filter((e) => e.reply.src === ip || e.orig.src === ip);
    };
    assert.ok(mentions().some((e) => e.proto === "udp" && e.orig.dport === 5353));
    await t.tsbox(["rm", "-f", "udp"], { expect: 0 });
    assert.deepEqual(mentions(), [], "conntrack entries of the removed container");
  } finally {
    await stopAll(t, ["udp", "local"], [udp, local]);
  }
});

topologyTest("-P publishes the image's exposed ports on random host ports", async (t) => {
  // Images are stored by the archive's digest: a different archive gets its own config.
  const dir = await Deno.makeTempDir({ prefix: "tsbox-net-img-" });
  try {
    await Deno.copyFile(await busyboxTarball(), `${dir}/img.tar`);
    await Deno.writeTextFile(`${dir}/marker`, "exposes 80\n");
    await t.host.run(["tar", "-rf", `${dir}/img.tar`, "-C", dir, "./marker"]);
    await t.tsbox(
      ["import", "-c", "EXPOSE 80", "-c", "EXPOSE 53/udp", `${dir}/img.tar`, "webimg"],
      {
        expect: 0,
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const web = t.spawnTsbox([
    "run",
    "--rm",
    "--name",
    "pub",
    "-P",
    "webimg",
    ...webServer("random"),
  ]);
  try {
    const lines = await waitFor("the ports of pub", async () => {
      const r = await t.tsbox(["port", "pub"]);
      const l = r.stdout.trim().split("\n").filter(Boolean);
      return l.length === 2 ? l : undefined;
    });
    assert.match(lines[0]!, /^53\/udp -> 0\.0\.0\.0:\d+$/);
    const m = lines[1]!.match(/^80\/tcp -> 0\.0\.0\.0:(\d+)$/);
    assert.ok(m, lines.join("\n"));
    const hostPort = Number(m[1]);
    assert.ok(hostPort >= 1024 && hostPort !== 80);
    assert.equal(
      await waitFor("pub", () => get(t.outside, `http://${t.hostIp}:${hostPort}/`)),
      "random",
    );
  } finally {
    await stopAll(t, ["pub"], [web]);
  }
});

topologyTest("a taken host port or a bad spec is refused before anything is created", async (t) => {
  const holder = t.spawnTsbox([
    "run",
    "--rm",
    "--name",
    "holder",
    "-p",
    "8080:80",
    "busybox",
    "sleep",
    "60",
  ]);
  const listener = await t.host.spawnInside(["busybox", "nc", "-l", "-p", "8090"]);
  try {
    await waitFor("holder's port", async () => {
      const r = await t.tsbox(["port", "holder"]);
      return r.stdout.includes("8080") || undefined;
    });
    const cases: [string[], RegExp][] = [
      [
        ["-p", "8080:81"],
        /bind for 0\.0\.0\.0:8080\/tcp failed: port is already allocated by container holder/,
      ],
      [["-p", "127.0.0.1:8080:81"], /port is already allocated/],
      [
        ["-p", "8090:80"],
        /bind for 0\.0\.0\.0:8090\/tcp failed: port is already in use on the host/,
      ],
      [
        ["-p", "80:99999"],
        /invalid port specification "80:99999": container port 99999 is out of range/,
      ],
      [["-p", "8091:80", "-p", "8091:81"], /published twice/],
      [["-p", "10.1.2.3:8092:80"], /10\.1\.2\.3 is not an address of this host/],
      [
        ["--network", "none", "-p", "8093:80"],
        /conflicting options: port publishing and the none network mode/,
      ],
      [["--network", "nosuch"], /network nosuch not found/],
    ];
    for (const [flags, want] of cases) {
      const r = await t.tsbox(["run", "--rm", "--name", "refused", ...flags, "busybox", "true"]);
      assert.equal(r.code, 125, `${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    // Nothing was recorded for the refused runs: no container, no lease, no veth.
    const ps = await t.tsbox(["ps", "-a", "--format-names-only-not-a-flag"], {});
    assert.equal(ps.code, 125, "ps rejects unknown flags");
    const all = await t.tsbox(["ps", "-a"], { expect: 0 });
    assert.deepEqual(
      all.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/).at(-1)),
      [
        "holder",
      ],
    );
    const net = JSON.parse((await t.tsbox(["network", "inspect", "bridge"], { expect: 0 })).stdout);
    assert.equal(Object.keys(net[0].Containers).length, 1);
    const veths = (await t.host.ip<{ ifname: string }[]>("link")).filter((l) =>
      l.ifname.startsWith("veth")
    );
    assert.equal(veths.length, 1);
  } finally {
    listener.kill("SIGKILL");
    await listener.output();
    await stopAll(t, ["holder"], [holder]);
  }
});
