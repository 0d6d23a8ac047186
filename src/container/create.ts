// Creating a container: resolve the image, build and validate the spec
// (nothing is touched if that fails), then record the container and make its
// directory: overlay upper/work dirs, the rootfs mountpoint and the /etc
// files bound into it. Layout of $TSBOX_ROOT/containers/<id>/:
//   config.json   the OCI spec
//   upper/ work/  the overlay's writable layer and its work dir
//   rootfs/       mountpoint (only ever mounted inside the container's namespaces)
//   idmap/        mountpoints for id-mapped image layers (--userns remap)
//   hostname hosts resolv.conf

import { TsboxError, UsageError } from "../errors.ts";
import { findImage, type Image } from "../image/store.ts";
import { containerDir } from "../paths.ts";
import type { RootfsSource } from "../mount/rootfs.ts";
import { remapMappings } from "../runtime/userns.ts";
import { buildSpec, type ImageConfig } from "../spec/from_run.ts";
import type { Spec } from "../spec/types.ts";
import { emitEvent } from "../state/events.ts";
import { addResource, type ContainerRecord, insertContainer, newId } from "../state/containers.ts";
import { containerHosts, containerResolvConf, hostResolvConf } from "./etc_files.ts";
import { checkCgroup, containerCgroupPath, resourceHost } from "./cgroup.ts";
import type { RunOptions } from "./options.ts";
import { boundingSet, holdsCapability, hostDevices, hostLimits } from "./host.ts";

/** A container that exists on disk and in the state, not started yet. */
export interface Created {
  record: ContainerRecord;
  spec: Spec;
  dir: string;
  rootfs: RootfsSource;
}

function readOr(path: string, fallback = ""): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

function readTextFiles(paths: readonly string[]): string[] {
  return paths.map((p) => {
    try {
      return Deno.readTextFileSync(p);
    } catch (e) {
      throw new UsageError(`open env file ${JSON.stringify(p)}`, { cause: e });
    }
  });
}

/** Resolves, validates and records a container; makes its directory. */
export async function createContainer(opts: RunOptions): Promise<Created> {
  let image: Image | undefined;
  let imageRoot: string;
  if (opts.rootfs !== undefined) {
    try {
      if (!Deno.statSync(opts.rootfs).isDirectory) throw new Error("not a directory");
    } catch (e) {
      throw new UsageError(`--rootfs ${JSON.stringify(opts.rootfs)}`, { cause: e });
    }
    imageRoot = Deno.realPathSync(opts.rootfs);
  } else {
    image = findImage(opts.image);
    imageRoot = image.rootfs;
  }
  const config: ImageConfig = image?.config ?? {};
  const id = newId();
  const dir = containerDir(id);
  const hostname = opts.hostname ?? id.slice(0, 12);
  const remap = opts.userns === "remap" ? remapMappings() : undefined;
  const spec = buildSpec(opts, {
    image: config,
    hostname,
    passwd: readOr(`${imageRoot}/etc/passwd`),
    group: readOr(`${imageRoot}/etc/group`),
    etcFiles: {
      hostname: `${dir}/hostname`,
      hosts: `${dir}/hosts`,
      resolvConf: `${dir}/resolv.conf`,
    },
    envFileTexts: readTextFiles(opts.envFiles),
    hostLimits: hostLimits(),
    canRaiseLimits: holdsCapability(24 /* CAP_SYS_RESOURCE */),
    boundingSet: boundingSet(),
    ...(remap ? { remap } : {}),
    hostDevices,
    resourceHost: resourceHost(),
    cgroupsPath: containerCgroupPath(id, opts.cgroupParent),
  });
  checkCgroup(spec, opts.cgroupParent);
  if (opts.rootfs !== undefined) spec.root!.path = imageRoot;
  // The network modules (netlink, nftables) load only when the container gets a network or ports.
  if (
    (opts.network !== "none" && opts.network !== "host") || opts.publish.length || opts.publishAll
  ) {
    (await import("../net/request.ts")).validateNetworkRequest(opts, config.ExposedPorts);
  }
  const record = insertContainer({
    id,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    image: opts.rootfs !== undefined ? imageRoot : opts.image,
    imageId: image?.id ?? null,
    spec,
    options: opts as unknown as Record<string, unknown>,
  });
  addResource(id, "dir", dir);
  emitEvent("create", id, { name: record.name, image: record.image });
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.mkdirSync(`${dir}/rootfs`);
    const owner = remap ? { uid: remap.uid[0]!.hostID, gid: remap.gid[0]!.hostID } : undefined;
    const write = (name: string, text: string) => {
      Deno.writeTextFileSync(`${dir}/${name}`, text, { mode: 0o644 });
      if (owner) Deno.chownSync(`${dir}/${name}`, owner.uid, owner.gid);
    };
    write("hostname", `${hostname}\n`);
    write("hosts", containerHosts([]));
    write("resolv.conf", containerResolvConf(hostResolvConf(), opts.network === "host"));
    Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(spec, null, 2));
    let rootfs: RootfsSource;
    if (opts.rootfs !== undefined) {
      rootfs = { kind: "dir", path: imageRoot };
    } else {
      Deno.mkdirSync(`${dir}/upper`, { mode: 0o755 });
      Deno.mkdirSync(`${dir}/work`, { mode: 0o700 });
      if (owner) Deno.chownSync(`${dir}/upper`, owner.uid, owner.gid);
      rootfs = { kind: "overlay", lower: [imageRoot], upper: `${dir}/upper`, work: `${dir}/work` };
    }
    if (remap) Deno.mkdirSync(`${dir}/idmap`);
    return { record, spec, dir, rootfs };
  } catch (e) {
    throw new TsboxError(`create container directory ${JSON.stringify(dir)}`, { cause: e });
  }
}

/** A created container rebuilt from its record (to start it again, or from the supervisor). */
export function containerFromRecord(rec: ContainerRecord): Created {
  const dir = containerDir(rec.id);
  const rootfs: RootfsSource = rec.imageId === null ? { kind: "dir", path: rec.spec.root!.path } : {
    kind: "overlay",
    lower: [findImage(rec.imageId).rootfs],
    upper: `${dir}/upper`,
    work: `${dir}/work`,
  };
  return { record: rec, spec: rec.spec, dir, rootfs };
}
