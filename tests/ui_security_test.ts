// Root tests of who may use `tsbox ui`: the token on every request (401
// without it or with a wrong one), the cookie after the first visit, 403 for
// a foreign Host header (DNS rebinding), cross-site POSTs refused (and the
// container left running), no CORS header on any answer, and the refusal of
// a non-loopback address that does not come from --listen. The server
// listens on 127.0.0.1 of the test's own namespace (loopback only); the
// --listen 0.0.0.0 case runs inside a throwaway network namespace.

import assert from "node:assert/strict";
import { host, rootTest, tsbox } from "./lib/harness.ts";
import { fmt, runD, until } from "./lib/cli.ts";
import { withTestNetns } from "./lib/netns.ts";
import { rawRequest, startUi } from "./lib/ui.ts";

function noCors(r: { headers: Map<string, string> }, what: string): void {
  const cors = [...r.headers.keys()].filter((k) => k.startsWith("access-control-"));
  assert.deepEqual(cors, [], `${what}: CORS headers ${cors.join(", ")}`);
}

rootTest("ui security: token, cookie, Host, cross-site POST, no CORS", async (root) => {
  const id = await runD(root, "--name", "victim", "busybox", "sleep", "1000");
  const ui = await startUi(root);
  try {
    const hostHdr = `127.0.0.1:${ui.port}`;
    const get = (path: string, headers: Record<string, string> = {}) =>
      rawRequest(ui.port, "GET", path, { Host: hostHdr, ...headers });

    // No token, wrong token: 401, on the page and on the API.
    for (const path of ["/", "/api/containers", "/api/stream", "/static/app.js"]) {
      const r = await get(path);
      assert.equal(r.status, 401, `${path} without a token`);
      noCors(r, path);
    }
    const wrong = "0".repeat(64);
    assert.equal((await get(`/?token=${wrong}`)).status, 401);
    assert.equal((await get("/api/containers", { Cookie: `tsbox_ui=${wrong}` })).status, 401);
    assert.equal((await get("/api/containers", { "X-Tsbox-Token": wrong })).status, 401);

    // The printed URL: 200, the running container in the page, the cookie set.
    const first = await get(`/?token=${ui.token}`);
    assert.equal(first.status, 200);
    assert.ok(first.body.includes("victim"), "the table is in the page");
    const setCookie = first.headers.get("set-cookie") ?? "";
    assert.match(setCookie, new RegExp(`^tsbox_ui=${ui.token};`));
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(first.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    noCors(first, "the page");
    const cookie = `tsbox_ui=${ui.token}`;
    const list = await get("/api/containers", { Cookie: cookie });
    assert.equal(list.status, 200);
    assert.ok(list.body.includes(id));

    // DNS rebinding: a page of evil.example whose name resolves to 127.0.0.1 sends its own Host.
    for (const h of [`evil.example:${ui.port}`, `127.0.0.1.evil.example:${ui.port}`, ""]) {
      const r = await rawRequest(ui.port, "GET", `/?token=${ui.token}`, h ? { Host: h } : {});
      assert.ok(
        r.status === 403 || (!h && r.status === 400),
        `Host ${JSON.stringify(h)}: ${r.status}`,
      );
    }
    const rebound = await rawRequest(ui.port, "GET", "/api/containers", {
      Host: `evil.example:${ui.port}`,
      Cookie: cookie,
    });
    assert.equal(rebound.status, 403);
    // Any loopback name works (an SSH forward to another local port).
    assert.equal(
      (await rawRequest(ui.port, "GET", "/api/containers", {
        Host: "localhost:9999",
        Cookie: cookie,
      })).status,
      200,
    );

    // Cross-site POSTs: a form (cookie only), a fetch from another origin, a cross-site
    // Sec-Fetch-Site, an OPTIONS preflight. None stops the container; none gets CORS headers.
    const stop = `/api/containers/${id}/stop`;
    const attempts: [string, Record<string, string>, number][] = [
      ["form post with the cookie", {
        Cookie: cookie,
        Origin: "http://evil.example",
        "Content-Type": "application/x-www-form-urlencoded",
      }, 403],
      ["same-origin post without the header", { Cookie: cookie }, 401],
      ["cross-origin post with the token", {
        Origin: "http://evil.example",
        "X-Tsbox-Token": ui.token,
      }, 403],
      [
        "cross-site fetch metadata",
        { "Sec-Fetch-Site": "cross-site", "X-Tsbox-Token": ui.token },
        403,
      ],
      ["opaque origin", { Origin: "null", "X-Tsbox-Token": ui.token }, 403],
    ];
    for (const [what, headers, status] of attempts) {
      const r = await rawRequest(ui.port, "POST", stop, { Host: hostHdr, ...headers }, "x=1");
      assert.equal(r.status, status, what);
      noCors(r, what);
    }
    const pre = await rawRequest(ui.port, "OPTIONS", stop, {
      Host: hostHdr,
      Origin: "http://evil.example",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "x-tsbox-token",
    });
    assert.notEqual(pre.status, 200);
    assert.notEqual(pre.status, 204);
    noCors(pre, "preflight");
    // State changes are POST only.
    assert.equal((await get(stop, { Cookie: cookie })).status, 404);
    assert.equal(await fmt(root, id, "{{.State.Status}}"), "running");

    // The page's own way: POST with the header, same origin.
    const ok = await rawRequest(ui.port, "POST", `/api/containers/${id}/pause`, {
      Host: hostHdr,
      Origin: `http://${hostHdr}`,
      "X-Tsbox-Token": ui.token,
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(await fmt(root, id, "{{.State.Status}}"), "paused");
    await rawRequest(ui.port, "POST", `/api/containers/${id}/unpause`, {
      Host: hostHdr,
      "X-Tsbox-Token": ui.token,
    });
    await until("unpaused", async () => (await fmt(root, id, "{{.State.Status}}")) === "running");
  } finally {
    await ui.stop();
  }
});

rootTest("ui security: a non-loopback address only from --listen, with a warning", async (root) => {
  const r = await tsbox(["ui"], { root, env: { TSBOX_UI_LISTEN: "0.0.0.0:0" } });
  assert.equal(r.code, 125);
  assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0.*only --listen/);
  const bad = await tsbox(["ui", "--listen", "nonsense"], { root });
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid listen address/);
  // Bind 0.0.0.0 only inside a namespace of our own (it has nothing but lo).
  await withTestNetns(["ui"], async (ns) => {
    await ns.run(["ip", "link", "set", "lo", "up"]);
    const ui = await startUi(root, ["--listen", "0.0.0.0:0"], ns);
    try {
      const err = new TextDecoder().decode((await ui.child.stderr.getReader().read()).value);
      assert.match(err, /warning: listening on 0\.0\.0\.0, not loopback/);
      const curl = (url: string, ...extra: string[]) =>
        host("nsenter", [
          `--net=${ns.path}`,
          "curl",
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          ...extra,
          url,
        ], { check: false });
      // On a wildcard address, address literals are fine (no DNS to rebind), names are not.
      assert.equal((await curl(`http://127.0.0.1:${ui.port}/?token=${ui.token}`)).stdout, "200");
      assert.equal((await curl(`http://127.0.0.1:${ui.port}/`)).stdout, "401");
      const named = await curl(
        `http://127.0.0.1:${ui.port}/?token=${ui.token}`,
        "-H",
        "Host: evil.example",
      );
      assert.equal(named.stdout, "403");
    } finally {
      await ui.stop();
    }
  });
});
