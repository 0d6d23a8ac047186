// Creating a container, in two phases:
//
//   planContainer(RunOptions)   resolve the image, read the host's facts, build the
//                               ContainerConfig (src/spec/run_config.ts) and check it
//                               against the state (network, ports, cgroup parent).
//                               No side effect: a bad request changes nothing.
//   createFromPlan(plan)        record the container (its name is claimed in the same
//                               transaction), then make its directory; a failure
//                               undoes both, so a failed create leaves nothing.
//
// The OCI runtime front end plans from a bundle instead and calls
// createFromPlan the same way. Layout of $TSBOX_ROOT/containers/<id>/:
//   config.json   the OCI spec
//   upper/ work/  the overlay's writable layer and its work dir
//   rootfs/       mountpoint (only ever mounted inside the container's namespaces)
//   idmap/        mountpoints for id-mapped image layers (--userns remap)
//   hostname hosts resolv.conf

import { TsboxError, UsageError } from "../errors.ts";
import { findImage, type Image, imageLowerDirs, readImageFile } from "../image/store.ts";
import { containerDir } from "../paths.ts";
import type { RootfsSource } from "../mount/rootfs.ts";
import { readFileInRoot } from "../mount/securejoin.ts";
import { remapMappings } from "../runtime/userns.ts";
import type { ContainerConfig } from "../spec/config.ts";
import type { ImageConfig } from "../spec/from_run.ts";
import { buildConfig } from "../spec/run_config.ts";
import type { RunOptions } from "../spec/run_options.ts";
import type { Spec } from "../spec/types.ts";
import { emitEvent } from "../state/events.ts";
import {
  addResource,
  type ContainerRecord,
  deleteContainer,
  insertContainer,
  newId,
} from "../state/containers.ts";
import { state } from "../state/db.ts";
import { containerHosts, containerResolvConf, hostResolvConf } from "./etc_files.ts";
import { checkCgroup, containerCgroupPath, resourceHost } from "./cgroup.ts";
import { boundingSet, holdsCapability, hostDevices, hostLimits } from "./host.ts";
import { checkSpecOnHost } from "./validate.ts";
import { makeAnonymousVolumes, planAnonymousVolumes, removeAnonymousVolumes } from "./volumes.ts";

/** The directories whose content fills an anonymous volume: the image's layers, lowest first. */
function volumeSources(config: ContainerConfig): string[] {
  const r = config.rootfs;
  return r.kind === "dir" ? [] : [...imageLowerDirs(findImage(r.imageId))].reverse();
}

/** A container that exists on disk and in the state, not started yet. */
export interface Created {
  record: ContainerRecord;
  spec: Spec;
  dir: string;
  rootfs: RootfsSource;
}

/** A checked request to create a container: everything but the side effects. */
export interface Plan {
  id: string;
  name?: string;
  /** The image as shown by `ps` (the reference as typed, or the --rootfs directory). */
  image: string;
  imageId: string | null;
  config: ContainerConfig;
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

/** Resolves and checks a `run`/`create` request. Throws UsageError/NotFoundError; changes nothing. */
export async function planContainer(opts: RunOptions): Promise<Plan> {
  let imageRoot = "";
  let image: Image | undefined;
  let imageId: string | undefined;
  let imageConfig: ImageConfig = {};
  let rootfsDir: string | undefined;
  if (opts.rootfs !== undefined) {
    try {
      if (!Deno.statSync(opts.rootfs).isDirectory) throw new Error("not a directory");
    } catch (e) {
      throw new UsageError(`--rootfs ${JSON.stringify(opts.rootfs)}`, { cause: e });
    }
    rootfsDir = imageRoot = Deno.realPathSync(opts.rootfs);
  } else {
    image = findImage(opts.image);
    imageId = image.id;
    imageConfig = image.config;
  }
  const id = newId();
  const dir = containerDir(id);
  const hostname = opts.hostname ?? id.slice(0, 12);
  const remap = opts.userns === "remap" ? remapMappings() : undefined;
  const config = buildConfig(opts, {
    image: imageConfig,
    ...(imageId !== undefined ? { imageId, imageRef: opts.image } : {}),
    ...(rootfsDir !== undefined ? { rootfsDir } : {}),
    hostname,
    // The image's files are read through its layers, as overlay shows them.
    passwd:
      (image ? readImageFile(image, "/etc/passwd") : readFileInRoot(imageRoot, "/etc/passwd")) ??
        "",
    group: (image ? readImageFile(image, "/etc/group") : readFileInRoot(imageRoot, "/etc/group")) ??
      "",
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
  checkCgroup(config.spec, config.cgroupParent);
  checkSpecOnHost(config.spec);
  const mode = config.network.mode;
  // The network modules (netlink, nftables) load only when the container gets a network or ports.
  if (mode.kind === "bridge" || mode.kind === "container") {
    (await import("../net/request.ts")).checkNetworkRequest(mode, config.network.ports);
  }
  return {
    id,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    image: rootfsDir ?? opts.image,
    imageId: imageId ?? null,
    config,
  };
}

/** The owner of files the container's root must be able to write (--userns remap). */
function remappedOwner(spec: Spec): { uid: number; gid: number } | undefined {
  const uid = spec.linux?.uidMappings?.find((m) => m.containerID === 0);
  const gid = spec.linux?.gidMappings?.find((m) => m.containerID === 0);
  return uid && gid && spec.linux?.namespaces?.some((n) => n.type === "user")
    ? { uid: uid.hostID, gid: gid.hostID }
    : undefined;
}

/**
 * Records a planned container and makes its directory. If anything fails,
 * the record and the directory are gone again. Requires root.
 */
export function createFromPlan(plan: Plan): Created {
  const { id, config } = plan;
  const spec = config.spec;
  const dir = containerDir(id);
  // Their directories are in the spec before it is stored; they are made after.
  const volumes = planAnonymousVolumes(spec);
  const record = insertContainer({
    id,
    ...(plan.name !== undefined ? { name: plan.name } : {}),
    image: plan.image,
    imageId: plan.imageId,
    config,
  });
  try {
    addResource(id, "dir", dir);
    // tsbox's own files are 0600 and directories 0700 (config.json holds the
    // environment); what the container sees keeps the modes it needs (the
    // /etc files bound into it, upper/ as its root), behind this 0700
    // directory. Modes are set explicitly: the supervisor's umask is 077.
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.mkdirSync(`${dir}/rootfs`, { mode: 0o700 });
    const owner = remappedOwner(spec);
    const write = (name: string, text: string) => {
      Deno.writeTextFileSync(`${dir}/${name}`, text, { mode: 0o644 });
      Deno.chmodSync(`${dir}/${name}`, 0o644);
      if (owner) Deno.chownSync(`${dir}/${name}`, owner.uid, owner.gid);
    };
    write("hostname", `${spec.hostname || id.slice(0, 12)}\n`);
    write("hosts", containerHosts([]));
    write(
      "resolv.conf",
      containerResolvConf(hostResolvConf(), config.network.mode.kind === "host"),
    );
    makeAnonymousVolumes(id, volumes, volumes.length ? volumeSources(config) : []);
    Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(spec, null, 2), { mode: 0o600 });
    if (config.rootfs.kind === "image") {
      Deno.mkdirSync(`${dir}/upper`, { mode: 0o755 });
      Deno.chmodSync(`${dir}/upper`, 0o755); // the container's "/"
      Deno.mkdirSync(`${dir}/work`, { mode: 0o700 });
      if (owner) Deno.chownSync(`${dir}/upper`, owner.uid, owner.gid);
    }
    if (owner) Deno.mkdirSync(`${dir}/idmap`, { mode: 0o700 });
  } catch (e) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* never made, or gone */ }
    removeAnonymousVolumes(id);
    try {
      // Even on a full disk (the state root's reserve is for this).
      state().essential(() => deleteContainer(id));
    } catch { /* the state itself failed: nothing was kept either */ }
    throw new TsboxError(`create container directory ${JSON.stringify(dir)}`, { cause: e });
  }
  emitEvent("create", id, { name: record.name, image: record.image });
  return containerFromRecord(record);
}

/** Plans and creates a container for a `run`/`create` request. */
export async function createContainer(opts: RunOptions): Promise<Created> {
  return createFromPlan(await planContainer(opts));
}

/** The root filesystem a container's record says it runs on. */
export function rootfsOf(rec: ContainerRecord, dir = containerDir(rec.id)): RootfsSource {
  const r = rec.config.rootfs;
  return r.kind === "dir" ? { kind: "dir", path: r.path } : {
    kind: "overlay",
    lower: imageLowerDirs(findImage(r.imageId)), // every layer, topmost first
    upper: `${dir}/upper`,
    work: `${dir}/work`,
  };
}

/** A created container rebuilt from its record (to start it again, or from the supervisor). */
export function containerFromRecord(rec: ContainerRecord): Created {
  const dir = containerDir(rec.id);
  return { record: rec, spec: rec.spec, dir, rootfs: rootfsOf(rec, dir) };
}
