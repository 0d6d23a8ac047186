// Migration 2: a container's stored model becomes one typed configuration
// (src/spec/config.ts: the OCI spec plus tsbox's extras) instead of the spec
// beside the Docker flags it was made from. Rows of the first release are
// converted here, once, from their `spec` and `options` columns; the
// columns then go. The conversion is pure (legacyConfig) and unit-tested.

import type { DatabaseSync } from "node:sqlite";
import { portRequests } from "../net/ports.ts";
import type { ContainerConfig, RestartPolicy } from "../spec/config.ts";
import type { Spec } from "../spec/types.ts";

/** The Docker options a first-release row stored (each may be missing). */
interface LegacyOptions {
  rootfs?: string;
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  restart?: string;
  autoRemove?: boolean;
  interactive?: boolean;
  labels?: string[];
  cgroupParent?: string;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  userns?: string;
}

function legacyRestart(v: string | undefined): RestartPolicy {
  const m = (v ?? "no").match(/^(no|always|unless-stopped|on-failure)(?::(\d+))?$/);
  return m
    ? { name: m[1] as RestartPolicy["name"], maxRetries: m[2] ? Number(m[2]) : 0 }
    : { name: "no", maxRetries: 0 };
}

function legacyNetwork(o: LegacyOptions, exposed: Record<string, unknown> | undefined) {
  const text = o.network ?? "bridge";
  const mode: ContainerConfig["network"]["mode"] = text === "none" || text === "host"
    ? { kind: text }
    : text.startsWith("container:")
    ? { kind: "container", ref: text.slice("container:".length) }
    : { kind: "bridge", network: text === "" || text === "default" ? "bridge" : text };
  let ports: ContainerConfig["network"]["ports"] = [];
  if (mode.kind === "bridge") {
    try {
      ports = portRequests(o.publish ?? [], o.publishAll ?? false, exposed);
    } catch { /* was valid when made; keep none rather than fail the upgrade */ }
  }
  return { mode, ports, publish: o.publish ?? [] };
}

/** The configuration of a first-release container row. */
export function legacyConfig(
  spec: Spec,
  options: LegacyOptions,
  imageId: string | null,
  exposed?: Record<string, unknown>,
): ContainerConfig {
  const labels = Object.fromEntries((options.labels ?? []).map((l) => {
    const i = l.indexOf("=");
    return i < 0 ? [l, ""] : [l.slice(0, i), l.slice(i + 1)];
  }));
  return {
    spec,
    rootfs: imageId === null
      ? { kind: "dir", path: spec.root?.path ?? options.rootfs ?? "" }
      : { kind: "image", image: "", imageId },
    network: legacyNetwork(options, exposed),
    restart: legacyRestart(options.restart),
    autoRemove: options.autoRemove ?? false,
    openStdin: options.interactive ?? false,
    labels,
    ...(options.cgroupParent ? { cgroupParent: options.cgroupParent } : {}),
    log: { driver: "json-file", opts: {} },
    request: {
      capAdd: options.capAdd ?? [],
      capDrop: options.capDrop ?? [],
      privileged: options.privileged ?? false,
      userns: options.userns ?? "host",
    },
  };
}

/** Migration 2 itself. */
export function migrateContainerConfig(db: DatabaseSync): void {
  db.exec("ALTER TABLE containers ADD COLUMN config TEXT NOT NULL DEFAULT '{}'");
  const rows = db.prepare("SELECT id, image, image_id, spec, options FROM containers").all() as {
    id: string;
    image: string;
    image_id: string | null;
    spec: string;
    options: string;
  }[];
  const imageConfig = db.prepare("SELECT config FROM images WHERE id = ?");
  const update = db.prepare("UPDATE containers SET config = ? WHERE id = ?");
  for (const r of rows) {
    const img = r.image_id
      ? imageConfig.get(r.image_id) as { config: string } | undefined
      : undefined;
    const exposed = img ? JSON.parse(img.config).ExposedPorts : undefined;
    const config = legacyConfig(JSON.parse(r.spec), JSON.parse(r.options), r.image_id, exposed);
    if (config.rootfs.kind === "image") config.rootfs.image = r.image;
    update.run(JSON.stringify(config), r.id);
  }
  db.exec("ALTER TABLE containers DROP COLUMN spec");
  db.exec("ALTER TABLE containers DROP COLUMN options");
}
