// Browser tests of `tsbox ui` in a real headless Chromium (Debian's, driven
// over the DevTools protocol by puppeteer-core: tests/lib/browser.ts): the
// token login, containers started from the CLI showing up with their state,
// the network diagram holding every veth and published port the kernel has,
// a terminal running `echo` inside a container, and a stop from the page
// that the CLI sees. tsbox, its containers, the ui server and the browser
// all run inside the test's own network namespace (tests/lib/netns.ts).
// Screenshots are kept in tests/artifacts/.

import assert from "node:assert/strict";
import { Browser, requiresChromium } from "./lib/browser.ts";
import { type Topology, topologyTest, waitFor } from "./lib/netns.ts";
import { startUi } from "./lib/ui.ts";

async function idOf(t: Topology, name: string): Promise<string> {
  return (await t.tsbox(["inspect", "-f", "{{.Id}}", name], { expect: 0 })).stdout.trim();
}

topologyTest("ui in a browser: login, live table, network diagram, terminal, stop", async (t) => {
  if (requiresChromium().ignore) return;
  await t.tsbox(["network", "create", "back"], { expect: 0 });
  const ui = await startUi(t.root, ["--listen", "127.0.0.1:0"], t.host);
  const browser = await Browser.launch(t.host);
  try {
    // Log in with the printed URL; the token leaves the address bar.
    assert.equal(await browser.goto(ui.url.href), 200);
    await browser.waitFor("document.querySelector('#status').textContent.startsWith('live')");
    assert.equal(await browser.eval("location.search"), "");
    const paint = await browser.eval<number>(
      "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1",
    );
    console.log(`first contentful paint: ${paint.toFixed(0)} ms`);

    // Containers started from the CLI appear, running.
    await t.tsbox([
      "run",
      "-d",
      "--name",
      "web",
      "-p",
      "8080:80",
      "busybox",
      "httpd",
      "-f",
      "-p",
      "80",
    ], {
      expect: 0,
    });
    await t.tsbox(["run", "-d", "--name", "client", "busybox", "sleep", "600"], { expect: 0 });
    await t.tsbox(["run", "-d", "--name", "db", "--network", "back", "busybox", "sleep", "600"], {
      expect: 0,
    });
    const web = await idOf(t, "web");
    const shown = Date.now();
    for (const name of ["web", "client", "db"]) {
      const id = await idOf(t, name);
      await browser.waitFor(
        `document.querySelector('tr[data-id="${id}"]')?.dataset.state === 'running'`,
      );
    }
    console.log(`the CLI's containers showed in ${Date.now() - shown} ms`);
    assert.match(
      await browser.eval<string>(
        `document.querySelector('tr[data-id="${web}"] td:nth-child(5)').textContent`,
      ),
      /^Up /,
    );
    // Sparklines fill in from the feed.
    await browser.waitFor(
      `document.querySelector('tr[data-id="${web}"] td.spark.mem svg') !== null`,
    );
    await browser.screenshot("ui-containers");
    const heap = (await browser.metrics()).JSHeapUsedSize ?? 0;
    console.log(`JS heap: ${(heap / 1e6).toFixed(2)} MB`);
    assert.ok(heap < 5e6, `JS heap ${heap} bytes`);

    // The diagram holds every veth on a tsbox bridge and every published port the kernel has.
    const links = await t.host.ip<{ ifname: string; master?: string; link_type?: string }[]>(
      "-d",
      "link",
      "show",
      "type",
      "veth",
    );
    const veths = links.filter((l) => l.master?.startsWith("tsbox")).map((l) => l.ifname).sort();
    assert.equal(veths.length, 3, JSON.stringify(links));
    await browser.goto(`${ui.url.origin}/#/network`);
    await browser.waitFor("document.querySelectorAll('svg.topology g.veth').length >= 3");
    const drawn = await browser.eval<string[]>(
      "[...document.querySelectorAll('svg.topology g.veth')].map((g) => g.dataset.name).sort()",
    );
    assert.deepEqual(drawn, veths);
    const ports = await browser.eval<string[]>(
      "[...document.querySelectorAll('svg.topology g.port')].map((g) => g.dataset.hostPort + '/' + g.dataset.proto + '->' + g.dataset.container)",
    );
    assert.deepEqual(ports, ["8080/tcp->web"]);
    const bridges = await browser.eval<string[]>(
      "[...document.querySelectorAll('svg.topology g.bridge')].map((g) => g.dataset.network).sort()",
    );
    assert.deepEqual(bridges, ["back", "bridge"]);
    assert.equal(
      await browser.eval("document.querySelectorAll('svg.topology g.isolation').length"),
      1,
    );
    await browser.screenshot("ui-network");

    // A container's page: environment values hidden until asked, logs followed, top.
    await t.tsbox([
      "run",
      "-d",
      "--name",
      "talker",
      "--network",
      "none",
      "-e",
      "SECRET=hunter2",
      "busybox",
      "sh",
      "-c",
      "echo first-line; sleep 2; echo later-line; exec sleep 600",
    ], { expect: 0 });
    await browser.goto(`${ui.url.origin}/#/c/${await idOf(t, "talker")}`);
    await browser.waitFor("document.querySelector('#logs')?.textContent.includes('first-line')");
    await browser.waitFor("document.querySelector('#logs').textContent.includes('later-line')");
    assert.ok(!(await browser.eval<boolean>("document.body.textContent.includes('hunter2')")));
    await browser.waitFor(
      "[...document.querySelectorAll('table')].some((t) => t.textContent.includes('sleep 600'))",
    );
    await browser.eval(
      "[...document.querySelectorAll('button')].find((b) => b.textContent === 'show/hide values').click()",
    );
    assert.ok(await browser.eval<boolean>("document.body.textContent.includes('SECRET=hunter2')"));
    await t.tsbox(["rm", "-f", "talker"], { expect: 0 });

    // A terminal into web runs echo inside the container.
    await browser.goto(`${ui.url.origin}/#/c/${web}`);
    await browser.waitFor("document.querySelector('#open-terminal') !== null");
    await browser.click("#open-terminal");
    await browser.waitFor("document.querySelector('#terminal .xterm') !== null");
    await browser.waitFor("document.querySelector('#terminal').textContent.includes('#')");
    await browser.click("#terminal");
    await browser.type("echo hello-$((6*7)) from $(hostname)\r");
    const host = (await t.tsbox(["exec", "web", "hostname"], { expect: 0 })).stdout.trim();
    await browser.waitFor(
      `document.querySelector('#terminal').textContent.includes('hello-42 from ${host}')`,
    );
    await browser.screenshot("ui-terminal");

    // A group with a limit, a container in it, and a traced start: the cgroup tree shows the
    // kernel's limit at the group's level; the traced container's page has its waterfall.
    await t.tsbox(["group", "create", "--memory", "64m", "lab"], { expect: 0 });
    await t.tsbox([
      "run",
      "-d",
      "--name",
      "capped",
      "--network",
      "none",
      "--cgroup-parent",
      "lab",
      "busybox",
      "sleep",
      "600",
    ], { expect: 0 });
    await t.tsbox(["run", "--name", "traced", "--network", "none", "--trace", "busybox", "true"], {
      expect: 0,
    });
    await browser.goto(`${ui.url.origin}/#/cgroups`);
    const lab = await browser.waitFor<string>(
      "document.querySelector('.node[data-path=\"tsbox/lab\"]')?.textContent",
    );
    assert.match(lab, /kernel: memory 64MiB/);
    assert.match(
      await browser.waitFor<string>(
        "[...document.querySelectorAll('.node')].find((n) => n.dataset.path.startsWith('tsbox/lab/'))?.textContent",
      ),
      /capped.*in effect: memory 64MiB/s,
    );
    await browser.screenshot("ui-cgroups");
    await browser.goto(`${ui.url.origin}/#/c/${await idOf(t, "traced")}`);
    await browser.waitFor("document.querySelectorAll('.wf .row').length > 10");
    const lanes = await browser.eval<string[]>(
      "[...new Set([...document.querySelectorAll('.wf .row .lane')].map((e) => e.textContent))].sort()",
    );
    assert.deepEqual(lanes, ["child", "parent"]);
    assert.ok(
      await browser.eval("document.querySelector('.wf').textContent.includes('pivot_root')"),
    );
    await browser.screenshot("ui-trace");
    for (const [view, text] of [["images", "busybox"], ["networks", "back"]]) {
      await browser.goto(`${ui.url.origin}/#/${view}`);
      await browser.waitFor(
        `document.querySelector('#view-${view} table')?.textContent.includes('${text}')`,
      );
    }

    // A plain `chromium --dump-dom` of the URL lists the running containers (server-rendered rows).
    const profile = await Deno.makeTempDir({ prefix: "tsbox-test-chromium-" });
    const dump = await t.host.run([
      "chromium",
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      "--dump-dom",
      ui.url.href,
    ], { check: false });
    await Deno.remove(profile, { recursive: true });
    for (const name of ["web", "client", "db", "capped"]) {
      assert.ok(dump.stdout.includes(`>${name}</a>`), `${name} in --dump-dom`);
    }

    // Stop from the page; the CLI sees it exited.
    await browser.goto(`${ui.url.origin}/#/`);
    await browser.waitFor(
      `document.querySelector('tr[data-id="${web}"] button[data-action="stop"]')`,
    );
    await browser.click(`tr[data-id="${web}"] button[data-action="stop"]`);
    await browser.waitFor(
      `document.querySelector('tr[data-id="${web}"]')?.dataset.state === 'exited'`,
      30_000,
    );
    await waitFor("the CLI to see web exited", async () => {
      const ps = await t.tsbox(["ps", "-a", "--filter", "name=web", "--format", "{{.Status}}"]);
      return ps.stdout.startsWith("Exited") || undefined;
    });
    await browser.screenshot("ui-stopped");
    assert.deepEqual(await browser.errors(), []);
  } finally {
    await browser.close();
    await ui.stop();
    // Groups outlive containers: remove ours once its container is gone.
    await t.tsbox(["rm", "-f", "capped"]);
    await t.tsbox(["group", "rm", "lab"]);
  }
}, { needs: [] });
