/**
 * Pulls an image into flowctl's cache without a Docker engine: resolves the reference to this
 * platform's manifest, streams each layer through a sha256 check and gunzip into the layer
 * applier, and keeps the result by digest. A cached reference needs no network at all.
 */
import { createHash } from "node:crypto";
import { ImageCache } from "./image_cache.ts";
import { dirname, join } from "node:path";
import { downloadVerified } from "./verified_blob.ts";
import { applyLayer, LayerError, UnpackBudget, type UnpackLimits } from "./layer_apply.ts";
import {
  choosePlatform,
  type Descriptor,
  hostPlatform,
  type ImageManifest,
  parseManifest,
} from "./manifest.ts";
import { imageReference } from "./reference.ts";
import { RegistryClient } from "./registry_client.ts";
import type { RegistryTimeouts } from "./registry_http.ts";
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
  /** Limits on what the image may unpack to (defaults: DEFAULT_UNPACK_LIMITS). */
  limits?: Partial<UnpackLimits>;
  /** Deadlines for the registry's answers (defaults: DEFAULT_TIMEOUTS). */
  timeouts?: RegistryTimeouts;
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
  const client = new RegistryClient(ref, options.timeouts ? { timeouts: options.timeouts } : {});
  const { digest, manifest } = await resolveManifest(client, reference, ref.version, options);
  const existing = await cache.root(digest);
  const root = existing ?? await cache.store(digest, async (root) => {
    const count = manifest.layers.length;
    const budget = new UnpackBudget(options.limits);
    for (const [i, layer] of manifest.layers.entries()) {
      options.signal?.throwIfAborted();
      await pullLayer(client, reference, layer, root, { ...options, index: i + 1, count, budget });
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

/**
 * Downloads one layer into a file beside the root, checks its size and digest, and only then
 * applies it to `root`.
 */
async function pullLayer(
  client: RegistryClient,
  reference: string,
  layer: Descriptor,
  root: string,
  options: PullOptions & { index: number; count: number; budget: UnpackBudget },
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
  const blobPath = join(dirname(root), `layer-${options.index}.blob`);
  const problem = await downloadVerified(
    await client.blob(layer.digest, options.signal),
    blobPath,
    {
      digest: layer.digest,
      size: layer.size,
      signal: options.signal,
      onBytes: (received) => progress(received, false),
    },
  );
  if (problem?.kind === "too-large") {
    throw new RegistryError(
      reference,
      `layer "${layer.digest}" is larger than its manifest says (${layer.size} bytes)`,
    );
  }
  if (problem) {
    throw new RegistryError(
      reference,
      `layer digest mismatch: expected "${layer.digest}" (${layer.size} bytes), got "${problem.digest}" (${problem.received} bytes)`,
    );
  }
  try {
    const file = await Deno.open(blobPath, { read: true });
    try {
      const tar = gzip ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable;
      await applyLayer(root, tar, { budget: options.budget, signal: options.signal });
    } finally {
      // The readable closes the file when read to the end or cancelled, else this does.
      try {
        file.close();
      } catch {
        // already closed
      }
    }
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = error instanceof LayerError || error instanceof TypeError
      ? error.message
      : String(error);
    throw new RegistryError(reference, `cannot apply layer "${layer.digest}": ${reason}`, {
      cause: error,
    });
  } finally {
    await Deno.remove(blobPath).catch(() => {});
  }
  progress(layer.size, true);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
