// Where tsbox keeps its files. Layout (see src/state/db.ts for the database):
//
//   $TSBOX_ROOT (default /var/lib/tsbox)       persistent state
//   ├── tsbox.db                                SQLite: containers, images, networks, leases, groups
//   ├── blobs/sha256/<hex>                      content by digest: manifests, configs, layer blobs
//   ├── layers/<chain id hex>/diff/             an unpacked layer, shared by every image that has it
//   ├── l/<short id> -> ../layers/<hex>/diff    short names so 128 layers fit one page of mount options
//   ├── tmp/                                    downloads and unpacks in progress (<pid>-<random>)
//   ├── images/<image id>/rootfs/               an image imported before layers (until migrated)
//   └── containers/<container id>/              upper/ work/ of the overlay, config.json,
//                                               hostname, hosts, resolv.conf, logs
//   $TSBOX_RUNROOT (default /run/tsbox, or $TSBOX_ROOT/run when TSBOX_ROOT is set)
//   └── ...                                     state that a reboot must forget (pid files, sockets)

let roots: { state?: string; run?: string } = {};

/**
 * Sets the roots for this process, over the environment: the OCI runtime
 * front end keeps its state under `--root` (runc's flag).
 */
export function setRoots(r: { state?: string; run?: string }): void {
  roots = { ...r };
}

/** The persistent state root. */
export function stateRoot(): string {
  return roots.state || Deno.env.get("TSBOX_ROOT") || "/var/lib/tsbox";
}

/** The runtime state root, cleared by a reboot. */
export function runRoot(): string {
  if (roots.run) return roots.run;
  if (roots.state) return `${roots.state}/run`;
  const explicit = Deno.env.get("TSBOX_RUNROOT");
  if (explicit) return explicit;
  return Deno.env.get("TSBOX_ROOT") ? `${stateRoot()}/run` : "/run/tsbox";
}

/** Directory of one image's files. */
export function imageDir(id: string): string {
  return `${stateRoot()}/images/${id}`;
}

/** Directory of one container's files. */
export function containerDir(id: string): string {
  return `${stateRoot()}/containers/${id}`;
}

/** Directory of blobs by digest algorithm: `${blobsDir()}/sha256/<hex>`. */
export function blobsDir(): string {
  return `${stateRoot()}/blobs`;
}

/** Directory of unpacked layers, by chain id. */
export function layersDir(): string {
  return `${stateRoot()}/layers`;
}

/** Directory of the short links to layers. */
export function layerLinksDir(): string {
  return `${stateRoot()}/l`;
}

/** Scratch space for work in progress (same filesystem as the store, for rename). */
export function storeTmpDir(): string {
  return `${stateRoot()}/tmp`;
}
