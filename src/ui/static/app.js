// tsbox ui: the page. Plain JavaScript modules, no build step: this one is
// the hash router over six views; containers.js keeps the table current
// (server-sent events), container.js is a container's page (xterm.js,
// vendored, loaded only when a terminal opens), views.js the network,
// cgroups, images and networks views, dom.js what they share. The server
// renders the first table rows, so the page shows them before any script.

import { $, api, cleanupPage, session } from "./dom.js";
import { startFeed } from "./containers.js";
import { showContainer } from "./container.js";
import { showCgroups, showList, showNetwork } from "./views.js";

function route() {
  cleanupPage();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [, view, arg] = hash.split("/");
  const name = view === "c" ? "container" : view || "containers";
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${name}`;
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("active", a.dataset.view === name);
  }
  if (name === "container") showContainer(decodeURIComponent(arg ?? ""));
  else if (name === "network") showNetwork();
  else if (name === "cgroups") showCgroups();
  else if (name === "images") showList("images", ["names", "id", "created", "size"]);
  else if (name === "networks") {
    showList("networks", ["name", "driver", "bridge", "subnet", "gateway"]);
  }
}

async function main() {
  // The token is in a cookie now: keep it out of the address bar and history.
  if (location.search.includes("token=")) {
    history.replaceState(null, "", location.pathname + location.hash);
  }
  session.token = (await api("/api/session")).token;
  startFeed();
  addEventListener("hashchange", route);
  route();
}
main().catch((e) => ($("#status").textContent = e.message));
