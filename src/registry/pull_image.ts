/**
 * Pulls an image into flowctl's cache without a Docker engine: resolves the reference to this
 * platform's manifest, streams each layer through a sha256 check and gunzip into the layer
 * applier, and keeps the result by digest. A cached reference needs no network at all.
 */
import { createHash } from "node:crypto";
import { ImageCache } from "./image_cache.ts";
import { CheckedBlob } from "./checked_blob.ts";
import { applyLayer } from "./layer_apply.ts";
import {
  choosePlatform,
  type Descriptor,
  hostPlatform,
  type ImageManifest,
  parseManifest,
} from "./manifest.ts";
import { imageReference } from "./reference.ts";
import { RegistryClient } from "./registry_client.ts";
import { RegistryError } from "./registry_error.ts";

/** Progress of one layer's download. */
export interface LayerProgress {
  reference: string;
  digest: string;
  /** 1-based position and count of layers. */
  index: number;
  count: number;
  received: number;
  size: number;
  done: boolean;
}

export interface PullOptions {
  signal?: AbortSignal;
  /** Resolve the reference at the registry even when the cache has it (`pull_policy: always`). */
  refresh?: boolean;
  cache?: ImageCache;
  onProgress?(progress: LayerProgress): void;
}

/** An image in the cache. */
export interface PulledImage {
  reference: string;
  /** Digest of this platform's image manifest. */
  digest: string;
  root: string;
  /** Whether it came from the cache without a pull. */
  cached: boolean;
}

const GZIP_TYPES = [
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];
const TAR_TYPES = ["application/vnd.oci.image.layer.v1.tar"];

/** The cached image of `reference`, without any network access; undefined when not cached. */
export async function cachedImage(
  reference: string,
  cache: ImageCache = new ImageCache(),
): Promise<PulledImage | undefined> {
  const digest = await cache.resolved(reference);
  const root = digest ? await cache.root(digest) : undefined;
  return digest && root ? { reference, digest, root, cached: true } : undefined;
}

/**
 * The image of `reference` (a full reference, `registry/repository:tag`), from the cache or
 * pulled into it.
 * @throws {RegistryError} naming the reference and what failed (unreachable registry, unknown
 * image, no image for this platform, a digest mismatch, an unreadable layer).
 */
export async function pullImage(
  reference: string,
  options: PullOptions = {},
): Promise<PulledImage> {
  const cache = options.cache ?? new ImageCache();
  if (!options.refresh) {
    const cached = await cachedImage(reference, cache);
    if (cached) return cached;
  }
  const ref = imageReference(reference);
  const client = new RegistryClient(ref);
  const { digest, manifest } = await resolveManifest(client, reference, ref.version, options);
  const existing = await cache.root(digest);
  const root = existing ?? await cache.store(digest, async (root) => {
    const count = manifest.layers.length;
    for (const [i, layer] of manifest.layers.entries()) {
      await pullLayer(client, reference, layer, root, { ...options, index: i + 1, count });
    }
  });
  await cache.record(reference, digest);
  return { reference, digest, root, cached: false };
}

/** The image manifest for this platform, following an index, with every digest checked. */
async function resolveManifest(
  client: RegistryClient,
  reference: string,
  version: string,
  options: PullOptions,
): Promise<{ digest: string; manifest: ImageManifest }> {
  let expected = version.startsWith("sha256:") ? version : undefined;
  let wanted = version;
  // An index leads to one manifest; a second index is not followed.
  for (let depth = 0; depth < 2; depth++) {
    const fetched = await client.manifest(wanted, options.signal);
    const digest = sha256(fetched.bytes);
    if (expected !== undefined && digest !== expected) {
      throw new RegistryError(
        reference,
        `manifest digest mismatch: expected "${expected}", got "${digest}"`,
      );
    }
    let document;
    try {
      document = parseManifest(
        fetched.contentType,
        JSON.parse(new TextDecoder().decode(fetched.bytes)),
      );
    } catch (error) {
      throw new RegistryError(reference, (error as Error).message, { cause: error });
    }
    if (document.kind === "image") return { digest, manifest: document.manifest };
    let chosen: Descriptor;
    try {
      chosen = choosePlatform(document.index, hostPlatform());
    } catch (error) {
      throw new RegistryError(reference, (error as Error).message, { cause: error });
    }
    expected = chosen.digest;
    wanted = chosen.digest;
  }
  throw new RegistryError(reference, "the image index points to another index");
}

/** Downloads one layer, checking size and digest as it streams, and applies it to `root`. */
async function pullLayer(
  client: RegistryClient,
  reference: string,
  layer: Descriptor,
  root: string,
  options: PullOptions & { index: number; count: number },
): Promise<void> {
  const mediaType = layer.mediaType ?? GZIP_TYPES[0] ?? "";
  const gzip = GZIP_TYPES.includes(mediaType);
  if (!gzip && !TAR_TYPES.includes(mediaType)) {
    throw new RegistryError(
      reference,
      `layer "${layer.digest}" has unsupported type "${mediaType}"`,
    );
  }
  const progress = (received: number, done: boolean) =>
    options.onProgress?.({
      reference,
      digest: layer.digest,
      index: options.index,
      count: options.count,
      received,
      size: layer.size,
      done,
    });
  progress(0, false);
  const blob = new CheckedBlob(await client.blob(layer.digest, options.signal), {
    limit: layer.size,
    tooLarge: () =>
      new RegistryError(
        reference,
        `layer "${layer.digest}" is larger than its manifest says (${layer.size} bytes)`,
      ),
    onBytes: (received) => progress(received, false),
  });
  let failure: unknown;
  try {
    const tar = gzip ? blob.stream.pipeThrough(new DecompressionStream("gzip")) : blob.stream;
    await applyLayer(root, tar);
  } catch (error) {
    failure = error;
  }
  try {
    await blob.drain();
  } catch (error) {
    failure ??= error;
  }
  if (failure instanceof RegistryError || options.signal?.aborted) throw failure;
  // A wrong digest explains a failed apply (a corrupted gzip stream), so it is reported first.
  const actual = blob.digest();
  if (actual !== layer.digest || blob.received !== layer.size) {
    throw new RegistryError(
      reference,
      `layer digest mismatch: expected "${layer.digest}" (${layer.size} bytes), got "${actual}" (${blob.received} bytes)`,
    );
  }
  if (failure !== undefined) {
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw new RegistryError(reference, `cannot apply layer "${layer.digest}": ${reason}`, {
      cause: failure,
    });
  }
  progress(blob.received, true);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
