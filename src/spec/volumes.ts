// Anonymous volumes in a spec: `-v /data` is a bind mount whose source is
// ANONYMOUS_VOLUME until the engine makes the volume (src/container/volumes.ts)
// and puts its directory there.

/** The source of a bind mount that is an anonymous volume still to be made. */
export const ANONYMOUS_VOLUME = "";
