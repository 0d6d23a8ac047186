// `tsbox network diagram` and `tsbox explain` checked against the kernel's
// own view, read by independent tools: `ip -j` (netlink) in the host
// namespace and in each container's, `nft -j` (tsbox's DNAT rules),
// `conntrack -L` (live translations), readlink/stat of /proc/PID/ns/*,
// /proc/PID/status through `capsh --decode`, /proc/PID/cgroup and uid_map.
// The setup: two networks, a published port, a connection from outside to
// it (DNAT) and one from a container to outside (NAPT), all inside the
// test's own network namespaces (tests/lib/netns.ts).

import assert from "node:assert/strict";
import { host } from "./lib/harness.ts";
import { startPeerRecorder, type Topology, topologyTest, waitFor } from "./lib/netns.ts";

interface IpAddr {
  ifindex: number;
  ifname: string;
  address?: string;
  master?: string;
  link_index?: number;
  linkinfo?: { info_kind?: string };
  addr_info: { family: string; local: string; prefixlen: number }[];
}

const v4 = (l: IpAddr) =>
  l.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);

async function pidOf(t: Topology, name: string): Promise<number> {
  return Number((await t.tsbox(["inspect", "-f", "{{.State.Pid}}", name], { expect: 0 })).stdout);
}

/** `ip -j -d addr` inside the network namespace of `pid`. */
async function ipIn(pid: number): Promise<IpAddr[]> {
  const r = await host("nsenter", [`--net=/proc/${pid}/ns/net`, "ip", "-j", "-d", "addr"]);
  return JSON.parse(r.stdout);
}

/** The tuples of `conntrack -L` lines: [proto, orig "src:sport>dst:dport", reply ...]. */
function conntrackTuples(text: string): { proto: string; orig: string; reply: string }[] {
  return text.split("\n").filter((l) => /^(tcp|udp)/.test(l)).map((l) => {
    const kv = [...l.matchAll(/(src|dst|sport|dport)=(\S+)/g)].map((m) => m[2]!);
    return {
      proto: l.split(/\s+/)[0]!,
      orig: `${kv[0]}:${kv[2]}>${kv[1]}:${kv[3]}`,
      reply: `${kv[4]}:${kv[6]}>${kv[5]}:${kv[7]}`,
    };
  });
}

topologyTest(
  "network diagram and explain agree with netlink, nftables, conntrack and /proc",
  async (t) => {
    await t.tsbox(["network", "create", "back"], { expect: 0 });
    await t.tsbox(
      ["run", "-d", "--name", "web", "-p", "8080:80", "busybox", "httpd", "-f", "-p", "80"],
      { expect: 0 },
    );
    await t.tsbox(["run", "-d", "--name", "db", "--network", "back", "busybox", "sleep", "600"], {
      expect: 0,
    });
    const peer = await startPeerRecorder(t.outside, 9000);
    // One process holding a connection to the published port (killing it closes everything).
    const inbound = await t.outside.spawnInside([
      Deno.execPath(),
      "eval",
      "const c = await Deno.connect({ hostname: '10.99.0.1', port: 8080 }); " +
      "console.log('connected'); await new Promise((r) => setTimeout(r, 60000)); c.close();",
    ]);
    try {
      await t.tsbox([
        "run",
        "-d",
        "--name",
        "client",
        "busybox",
        "sh",
        "-c",
        "sleep 600 | nc 10.99.0.2 9000",
      ], { expect: 0 });
      await waitFor("the outbound connection", () => Promise.resolve(peer.peers()[0]));
      const ct = await waitFor("both translations in conntrack", async () => {
        const r = await t.host.run(["conntrack", "-L", "-p", "tcp"], { check: false });
        const tuples = conntrackTuples(r.stdout);
        return tuples.some((x) => x.orig.endsWith(">10.99.0.1:8080")) &&
            tuples.some((x) => x.orig.endsWith(">10.99.0.2:9000"))
          ? tuples
          : undefined;
      });

      // ---- the diagram, against the kernel
      const topo = JSON.parse(
        (await t.tsbox(["network", "diagram", "--format", "json"], { expect: 0 })).stdout,
      );
      assert.deepEqual(topo.errors, {});
      const hostLinks = await t.host.ip<IpAddr[]>("-d", "addr");
      const kernelBridges = hostLinks.filter((l) => l.linkinfo?.info_kind === "bridge");
      assert.deepEqual(
        topo.bridges.map((b: { name: string; addresses: string[] }) => [b.name, b.addresses])
          .sort(),
        kernelBridges.map((l) => [l.ifname, v4(l)]).sort(),
      );
      assert.deepEqual(
        topo.bridges.map((b: { network: string }) => b.network).sort(),
        ["back", "bridge"],
      );
      const hostVeths = hostLinks.filter((l) =>
        l.linkinfo?.info_kind === "veth" && l.master?.startsWith("tsbox")
      );
      assert.equal(hostVeths.length, 3);
      assert.equal(topo.veths.length, 3);
      const ownNs = Deno.statSync("/proc/self/ns/net").ino;
      for (const name of ["web", "db", "client"]) {
        const pid = await pidOf(t, name);
        const eth0 = (await ipIn(pid)).find((l) => l.ifname === "eth0")!;
        const hostEnd = hostVeths.find((l) => l.ifindex === eth0.link_index)!;
        assert.ok(hostEnd, `${name}: the host end of its veth`);
        const v = topo.veths.find((x: { peer?: { container: string } }) =>
          x.peer?.container === name
        );
        assert.equal(v.host.name, hostEnd.ifname, name);
        assert.equal(v.host.index, hostEnd.ifindex);
        assert.equal(v.host.bridge, hostEnd.master);
        assert.equal(
          v.host.netns.inode,
          Deno.statSync(t.host.path).ino,
          "host end in tsbox's namespace",
        );
        assert.notEqual(v.host.netns.inode, ownNs);
        assert.equal(v.peer.name, "eth0");
        assert.equal(v.peer.index, eth0.ifindex);
        assert.equal(v.peer.mac, eth0.address);
        assert.deepEqual(v.peer.addresses, v4(eth0));
        assert.equal(v.peer.netns.inode, Deno.statSync(`/proc/${pid}/ns/net`).ino);
      }
      const nft = JSON.parse(
        (await t.host.run(["nft", "-j", "list", "chain", "ip", "tsbox", "ports"])).stdout,
      ).nftables as { rule?: { handle: number; expr: Record<string, unknown>[] } }[];
      const rules = nft.filter((x) => x.rule).map((x) => x.rule!);
      assert.equal(rules.length, 1);
      const dnat = rules[0]!.expr.find((e) => "dnat" in e)!.dnat as { addr: string; port: number };
      assert.equal(topo.ports.length, 1);
      assert.deepEqual(
        [topo.ports[0].rule.handle, topo.ports[0].containerIp, topo.ports[0].containerPort],
        [rules[0]!.handle, dnat.addr, dnat.port],
      );
      assert.deepEqual([topo.ports[0].hostPort, topo.ports[0].container], [8080, "web"]);
      const seen = new Set(ct.map((x) => `${x.proto} ${x.orig} ${x.reply}`));
      const kinds = new Set<string>();
      for (const x of topo.translations) {
        const key = `${x.proto} ${x.orig.src}:${x.orig.sport}>${x.orig.dst}:${x.orig.dport} ` +
          `${x.reply.src}:${x.reply.sport}>${x.reply.dst}:${x.reply.dport}`;
        if (!seen.has(key)) continue; // conntrack moved on meanwhile (a new entry)
        kinds.add(`${x.kind} ${x.containerName}`);
        if (x.kind === "dnat") assert.match(x.container, /^172\.17\.0\.\d+:80$/);
        if (x.kind === "snat") {
          assert.equal(x.host.split(":")[0], t.hostIp, "NAPT to the host's address");
        }
      }
      assert.ok(kinds.has("dnat web"), [...kinds].join());
      assert.ok(kinds.has("snat client"), [...kinds].join());

      // The terminal forms.
      for (const ascii of [false, true]) {
        const text =
          (await t.tsbox(["network", "diagram", ...(ascii ? ["--ascii"] : [])], { expect: 0 }))
            .stdout;
        for (const line of text.split("\n")) assert.ok([...line].length <= 100, line);
        for (const v of hostVeths) assert.ok(text.includes(v.ifname), v.ifname);
        assert.match(text, /NAPT out tcp/);
        assert.match(text, /DNAT in\s+tcp/);
        if (ascii) assert.ok([...text].every((c) => c.charCodeAt(0) < 128));
      }
      const one = (await t.tsbox(["network", "diagram", "--format", "json", "back"], { expect: 0 }))
        .stdout;
      assert.deepEqual(JSON.parse(one).containers.map((c: { name: string }) => c.name), ["db"]);
      assert.match(
        (await t.tsbox(["network", "diagram", "--format", "svg"], { expect: 0 })).stdout,
        /^<svg /,
      );
      assert.match(
        (await t.tsbox(["network", "diagram", "--format", "dot"], { expect: 0 })).stdout,
        /^digraph/,
      );
      const bad = await t.tsbox(["network", "diagram", "nonesuch"]);
      assert.equal(bad.code, 125);

      // ---- explain, against /proc
      const pid = await pidOf(t, "web");
      const ex = JSON.parse(
        (await t.tsbox(["explain", "--format", "json", "web"], { expect: 0 })).stdout,
      );
      assert.equal(ex.pid, pid);
      for (const n of ex.namespaces) {
        const proc = n.source.split("/").pop();
        assert.equal(n.link, Deno.readLinkSync(`/proc/${pid}/ns/${proc}`));
        const ours = Deno.readLinkSync(`/proc/self/ns/${proc}`);
        // The host's namespaces are tsbox's: ours but the network one (tsbox runs in t.host).
        if (n.sharedWith === "own") assert.notEqual(n.link, ours, n.type);
      }
      assert.deepEqual(
        ex.namespaces.find((n: { type: string }) => n.type === "network").sharedWith,
        "own",
      );
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      const capEff = /^CapEff:\s*(\S+)/m.exec(status)![1]!;
      const decoded = (await host("capsh", [`--decode=${capEff}`])).stdout.trim().split("=")[1]!;
      assert.deepEqual(
        [...ex.capabilities.effective].sort(),
        decoded.split(",").map((c) => c.toUpperCase()).sort(),
      );
      assert.equal(ex.seccomp.mode, Number(/^Seccomp:\s*(\d)/m.exec(status)![1]));
      const cg = Deno.readTextFileSync(`/proc/${pid}/cgroup`);
      assert.ok(cg.includes(`:${ex.cgroup.procPath}\n`), `${ex.cgroup.procPath} in ${cg}`);
      assert.deepEqual(
        ex.uidMap,
        Deno.readTextFileSync(`/proc/${pid}/uid_map`).trim().split("\n").map((l) =>
          l.trim().replace(/\s+/g, " ")
        ),
      );
      assert.equal(
        ex.network.container.eth0.mac,
        (await ipIn(pid)).find((l) => l.ifname === "eth0")!.address,
      );
      assert.ok(
        ex.network.ports.some((p: { rule: { handle: number } }) =>
          p.rule.handle === rules[0]!.handle
        ),
      );
      assert.ok(ex.network.translations.some((x: { kind: string }) => x.kind === "dnat"));
      // The text: every statement followed by where it came from; the /proc files exist.
      const text = (await t.tsbox(["explain", "web"], { expect: 0 })).stdout.split("\n");
      const sources = text.filter((l) => l.startsWith("      <- ")).map((l) => l.slice(9));
      assert.ok(sources.length >= 15, text.join("\n"));
      for (const s of sources.filter((s) => s.startsWith("/proc/"))) {
        Deno.statSync(s.split(" ")[0]!); // throws if it does not exist
      }
      assert.ok(sources.some((s) => s === `nft ip tsbox chain ports handle ${rules[0]!.handle}`));
      const stopped = await t.tsbox(["explain", "nonesuch"]);
      assert.equal(stopped.code, 1);
    } finally {
      inbound.kill("SIGKILL");
      await inbound.output().catch(() => {});
      await peer.close();
    }
  },
);
