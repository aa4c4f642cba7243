/**
 * Image manifests as registries send them: indexes (OCI, Docker manifest lists) and image
 * manifests (OCI, Docker schema 2), checked with valibot, and the choice of this machine's
 * platform in an index.
 */
import * as v from "valibot";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/** The Accept header of manifest requests: every kind flowctl reads. */
export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(", ");

/**
 * The most layers flowctl takes from one manifest. Engines stop far below (overlayfs stacks
 * about 128); a manifest with thousands is an attack on the puller, not an image.
 */
export const MAX_LAYERS = 512;

const DIGEST = v.pipe(v.string(), v.regex(/^sha256:[a-f0-9]{64}$/, "expected a sha256 digest"));

const DescriptorSchema = v.object({
  mediaType: v.optional(v.string()),
  digest: DIGEST,
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

const PlatformSchema = v.object({
  os: v.string(),
  architecture: v.string(),
  variant: v.optional(v.string()),
});

export const IndexSchema = v.object({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  manifests: v.array(
    v.object({ ...DescriptorSchema.entries, platform: v.optional(PlatformSchema) }),
  ),
});

export const ImageManifestSchema = v.object({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  config: DescriptorSchema,
  layers: v.pipe(
    v.array(DescriptorSchema),
    v.maxLength(MAX_LAYERS, `an image may have at most ${MAX_LAYERS} layers`),
  ),
});

export type Descriptor = v.InferOutput<typeof DescriptorSchema>;
export type ImageIndex = v.InferOutput<typeof IndexSchema>;
export type ImageManifest = v.InferOutput<typeof ImageManifestSchema>;

/** How a parsed manifest document is used: pick a platform from an index, or pull its layers. */
export type ManifestDocument =
  | { kind: "index"; index: ImageIndex }
  | { kind: "image"; manifest: ImageManifest };

/**
 * Reads a manifest document by its media type (the Content-Type header, else its own field).
 * @throws {TypeError} naming what does not fit.
 */
export function parseManifest(contentType: string, data: unknown): ManifestDocument {
  const declared = typeof data === "object" && data !== null && "mediaType" in data
    ? String((data as { mediaType: unknown }).mediaType)
    : "";
  const type =
    [contentType.split(";")[0]?.trim() ?? "", declared].find((t) =>
      (Object.values(MEDIA_TYPES) as string[]).includes(t)
    ) ?? (typeof data === "object" && data !== null && "manifests" in data
      ? MEDIA_TYPES.ociIndex
      : MEDIA_TYPES.ociManifest);
  const isIndex = type === MEDIA_TYPES.ociIndex || type === MEDIA_TYPES.dockerList;
  const result = isIndex ? v.safeParse(IndexSchema, data) : v.safeParse(ImageManifestSchema, data);
  if (!result.success) {
    const issue = result.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join(".") ?? "";
    throw new TypeError(
      `unreadable ${isIndex ? "image index" : "image manifest"}: ${
        where ? `${where}: ` : ""
      }${issue.message}`,
    );
  }
  return isIndex
    ? { kind: "index", index: result.output as ImageIndex }
    : { kind: "image", manifest: result.output as ImageManifest };
}

/** This machine's platform in OCI terms: `linux` and `amd64` or `arm64`. */
export function hostPlatform(): { os: string; architecture: string } {
  const arch: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };
  return { os: "linux", architecture: arch[Deno.build.arch] ?? Deno.build.arch };
}

/**
 * The manifest of `platform` in an index.
 * @throws {RangeError} listing the platforms the index has when none fits.
 */
export function choosePlatform(
  index: ImageIndex,
  platform: { os: string; architecture: string },
): Descriptor {
  const found = index.manifests.find((m) =>
    m.platform?.os === platform.os && m.platform.architecture === platform.architecture
  );
  if (found) return found;
  const available = index.manifests
    .filter((m) => m.platform && m.platform.architecture !== "unknown")
    .map((m) =>
      `${m.platform?.os}/${m.platform?.architecture}${
        m.platform?.variant ? `/${m.platform.variant}` : ""
      }`
    );
  throw new RangeError(
    `no ${platform.os}/${platform.architecture} image (the index has ${
      available.length > 0 ? available.join(", ") : "no platforms"
    })`,
  );
}
