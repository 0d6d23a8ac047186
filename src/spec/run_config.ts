// `tsbox run` and `create` as a container configuration: the Docker request
// (RunOptions) checked on its own (checkRunOptions: pure, cheap, run by the
// CLI before it asks anything of a supervisor), then, with the image and the
// host's facts, turned into the stored ContainerConfig (buildConfig): the
// OCI spec from from_run.ts plus network, restart, log and label settings.

import { UsageError } from "../errors.ts";
import { loadConfig } from "../config.ts";
import { parseNetworkRequest } from "../net/mode.ts";
import {
  capabilitySet,
  namespaceModes,
  parseSysctls,
  parseUlimit,
  securityOptions,
  userMounts,
} from "./from_run.ts";
import { buildSpec, type SpecContext } from "./from_run.ts";
import { type ContainerConfig, parseRestartPolicy } from "./config.ts";
import { resolveLogConfig } from "./log_config.ts";
import { containerResources, plainResourceHost, type ResourceHost } from "./resources.ts";
import type { RunOptions } from "./run_options.ts";

/** Parses `-l KEY=VALUE` (or `-l KEY`, an empty value) into labels. */
export function parseLabels(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf("=");
    const key = i < 0 ? l : l.slice(0, i);
    if (!key) throw new UsageError(`invalid label ${JSON.stringify(l)}: empty key`);
    out[key] = i < 0 ? "" : l.slice(i + 1);
  }
  return out;
}

/**
 * Checks everything in `opts` that needs neither the image nor the state:
 * flag syntax and the combinations Docker refuses. Throws UsageError; has no
 * side effect. Returns warnings to print (as Docker's WARNING lines).
 */
export function checkRunOptions(
  opts: RunOptions,
  host: ResourceHost = plainResourceHost(),
): string[] {
  const warnings: string[] = [];
  const policy = parseRestartPolicy(opts.restart);
  if (opts.autoRemove && policy.name !== "no") {
    throw new UsageError("conflicting options: --restart and --rm");
  }
  if (opts.rootfs === undefined && !opts.image) {
    throw new UsageError(`"tsbox run" requires at least 1 argument.\nSee 'tsbox run --help'.`);
  }
  if (opts.workdir !== undefined && !opts.workdir.startsWith("/")) {
    throw new UsageError(
      `the working directory ${
        JSON.stringify(opts.workdir)
      } is invalid: it needs to be an absolute path`,
    );
  }
  capabilitySet(opts.capAdd, opts.capDrop, opts.privileged);
  securityOptions(opts);
  const ns = namespaceModes(opts);
  for (const u of opts.ulimits) parseUlimit(u, { hostLimits: {}, canRaiseLimits: true });
  userMounts(opts);
  parseSysctls(opts.sysctls, { ipc: ns.ipcMode === "private", net: opts.network !== "host" });
  const net = parseNetworkRequest(
    { network: opts.network, publish: opts.publish, publishAll: false },
    undefined,
  );
  if (net.mode.kind === "host" && opts.publish.length) {
    warnings.push("WARNING: Published ports are discarded when using host network mode");
  }
  parseLabels(opts.labels);
  containerResources(opts, host);
  resolveLogConfig(opts.logDriver, opts.logOpts, loadConfig());
  return warnings;
}

/** What buildConfig needs beyond the spec's context: the image it runs. */
export interface ConfigContext extends SpecContext {
  /** The image as the user named it and its id; undefined with --rootfs. */
  imageRef?: string;
  imageId?: string;
  /** The --rootfs directory, absolute. */
  rootfsDir?: string;
}

/** The whole configuration of a container for `opts`. Throws UsageError; no side effect. */
export function buildConfig(opts: RunOptions, ctx: ConfigContext): ContainerConfig {
  const spec = buildSpec(opts, ctx);
  const policy = parseRestartPolicy(opts.restart);
  if (opts.autoRemove && policy.name !== "no") {
    throw new UsageError("conflicting options: --restart and --rm");
  }
  const net = parseNetworkRequest(
    { network: opts.network, publish: opts.publish, publishAll: opts.publishAll },
    ctx.image.ExposedPorts,
  );
  const defaults = loadConfig();
  if (ctx.rootfsDir !== undefined) spec.root = { ...spec.root, path: ctx.rootfsDir };
  return {
    spec,
    rootfs: ctx.rootfsDir !== undefined
      ? { kind: "dir", path: ctx.rootfsDir }
      : { kind: "image", image: ctx.imageRef ?? opts.image, imageId: ctx.imageId ?? "" },
    network: { ...net, publish: [...opts.publish] },
    restart: policy,
    autoRemove: opts.autoRemove,
    openStdin: opts.interactive,
    labels: { ...ctx.image.Labels, ...parseLabels(opts.labels) },
    ...(opts.cgroupParent ? { cgroupParent: opts.cgroupParent } : {}),
    log: resolveLogConfig(opts.logDriver, opts.logOpts, defaults),
    request: {
      capAdd: [...opts.capAdd],
      capDrop: [...opts.capDrop],
      privileged: opts.privileged,
      userns: opts.userns || "host",
    },
  };
}
