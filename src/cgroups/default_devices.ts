// Docker's default device access list for containers that are not privileged
// (devices controller: cgroup-v1/devices.rst; v2 BPF_PROG_TYPE_CGROUP_DEVICE).
// Docker builds it in two parts: moby's DefaultLinuxSpec
// (daemon/pkg/oci/defaults.go) starts with deny-all, a few devices and a deny
// for /dev/fuse; runc then appends its AllowedDevices
// (libcontainer/specconv/spec_linux.go) at the end of the list. The rules are
// evaluated in order and the last matching rule wins.

import type { DeviceRule } from "./resources.ts";

const c = (major: number | null, minor: number | null, access = "rwm"): DeviceRule => ({
  allow: true,
  type: "c",
  major,
  minor,
  access,
});

/** moby's part: deny all, then null, zero, urandom, random, tty, console; deny fuse. */
export const MOBY_DEFAULT_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  { allow: false, access: "rwm" },
  c(1, 5), // /dev/zero
  c(1, 3), // /dev/null
  c(1, 9), // /dev/urandom
  c(1, 8), // /dev/random
  c(5, 0), // /dev/tty
  c(5, 1), // /dev/console
  { allow: false, type: "c", major: 10, minor: 229, access: "rwm" }, // /dev/fuse
]);

/** runc's part, appended by runc to every container's list. */
export const RUNC_ALLOWED_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  c(null, null, "m"), // mknod of any char device
  { allow: true, type: "b", major: null, minor: null, access: "m" }, // mknod of any block device
  c(1, 3), // /dev/null
  c(1, 8), // /dev/random
  c(1, 7), // /dev/full
  c(5, 0), // /dev/tty
  c(1, 5), // /dev/zero
  c(1, 9), // /dev/urandom
  c(136, null), // /dev/pts/*
  c(5, 2), // /dev/ptmx
  c(10, 200), // /dev/net/tun (removed in runc 1.2.0, restored in 1.2.4)
]);

/**
 * The list a `docker run` container gets: moby's rules followed by runc's.
 * Pass it (plus any --device rules, inserted before runc's part) as
 * `resources.devices`.
 */
export const DOCKER_DEFAULT_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  ...MOBY_DEFAULT_DEVICE_RULES,
  ...RUNC_ALLOWED_DEVICE_RULES,
]);

/** A privileged container's list: every device, every access. */
export const PRIVILEGED_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  { allow: true, access: "rwm" },
]);
