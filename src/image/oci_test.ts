import assert from "node:assert/strict";
import {
  type Index,
  layerCompression,
  parseManifestDoc,
  parsePlatform,
  selectPlatform,
} from "./oci.ts";

const d = (c: string) => `sha256:${c.repeat(64)}`;

Deno.test("parsePlatform: os/arch[/variant], Docker's aliases", () => {
  assert.deepEqual(parsePlatform("linux/amd64"), { os: "linux", architecture: "amd64" });
  assert.deepEqual(parsePlatform("linux/arm64/v8"), {
    os: "linux",
    architecture: "arm64",
    variant: "v8",
  });
  assert.deepEqual(parsePlatform("x86_64"), { os: "linux", architecture: "amd64" });
  assert.throws(() => parsePlatform("linux/"), /invalid platform/);
});

Deno.test("selectPlatform picks the entry for the platform, arm64 defaulting to v8", () => {
  const index: Index = {
    schemaVersion: 2,
    manifests: [
      { mediaType: "m", digest: d("a"), size: 1, platform: { os: "linux", architecture: "arm64" } },
      { mediaType: "m", digest: d("b"), size: 1, platform: { os: "linux", architecture: "amd64" } },
    ],
  };
  assert.equal(selectPlatform(index, { os: "linux", architecture: "amd64" })?.digest, d("b"));
  assert.equal(
    selectPlatform(index, { os: "linux", architecture: "arm64", variant: "v8" })?.digest,
    d("a"),
  );
  assert.equal(selectPlatform(index, { os: "linux", architecture: "s390x" }), undefined);
});

Deno.test("parseManifestDoc: manifests, indexes, and what tsbox refuses", () => {
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const m = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: d("c"), size: 2 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest: d("e"), size: 3 }],
  };
  assert.equal(parseManifestDoc(enc(m), undefined).kind, "manifest");
  assert.equal(parseManifestDoc(enc({ schemaVersion: 2, manifests: [] }), undefined).kind, "index");
  assert.throws(
    () =>
      parseManifestDoc(
        enc({ schemaVersion: 1 }),
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
      ),
    /schema 1/,
  );
  const badLayer = { ...m, layers: [{ mediaType: "application/x-foo", digest: d("e"), size: 1 }] };
  assert.throws(() => parseManifestDoc(enc(badLayer), undefined), /unsupported media type/);
  const badDigest = { ...m, config: { ...m.config, digest: "md5:abc" } };
  assert.throws(() => parseManifestDoc(enc(badDigest), undefined), /malformed digest/);
  assert.equal(layerCompression("application/vnd.docker.image.rootfs.diff.tar.gzip"), "gzip");
  assert.equal(layerCompression("application/vnd.oci.image.layer.v1.tar"), "none");
});
