/**
 * flowctl's image cache, under `$XDG_CACHE_HOME/flowctl` or `~/.cache/flowctl`:
 * `images/sha256-<hex>/rootfs` holds an image's applied layers, keyed by its manifest digest;
 * `refs/<sha256 of the reference>.json` records which digest a reference resolved to, so a run
 * with everything cached needs no network. Images are built in `tmp/` and renamed into place,
 * so a folder under `images/` is always complete.
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import * as v from "valibot";

const RefRecordSchema = v.object({ reference: v.string(), digest: v.string() });

/** The cache folder: `$XDG_CACHE_HOME/flowctl`, else `~/.cache/flowctl`. */
export function cacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "flowctl");
  return join(Deno.env.get("HOME") ?? "/tmp", ".cache", "flowctl");
}

export class ImageCache {
  readonly dir: string;

  constructor(dir: string = cacheDir()) {
    this.dir = dir;
  }

  /** The root folder of the image with manifest `digest`, when it is cached. */
  async root(digest: string): Promise<string | undefined> {
    const root = join(this.#imageDir(digest), "rootfs");
    try {
      return (await Deno.stat(root)).isDirectory ? root : undefined;
    } catch {
      return undefined;
    }
  }

  /** The digest `reference` resolved to when it was last pulled. */
  async resolved(reference: string): Promise<string | undefined> {
    try {
      const text = await Deno.readTextFile(this.#refFile(reference));
      const parsed = v.safeParse(RefRecordSchema, JSON.parse(text));
      return parsed.success && parsed.output.reference === reference
        ? parsed.output.digest
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records that `reference` resolves to `digest`. */
  async record(reference: string, digest: string): Promise<void> {
    const file = this.#refFile(reference);
    await Deno.mkdir(join(this.dir, "refs"), { recursive: true });
    const temp = `${file}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(temp, JSON.stringify({ reference, digest }) + "\n");
    await Deno.rename(temp, file);
  }

  /**
   * Builds an image: `fill` gets an empty root folder; when it succeeds the folder becomes the
   * cached image `digest`, and when it throws the folder is removed.
   */
  async store(digest: string, fill: (root: string) => Promise<void>): Promise<string> {
    const tmp = join(this.dir, "tmp");
    await Deno.mkdir(tmp, { recursive: true });
    await Deno.mkdir(join(this.dir, "images"), { recursive: true });
    await removeAbandoned(tmp);
    const building = await Deno.makeTempDir({ dir: tmp, prefix: "image-" });
    try {
      const root = join(building, "rootfs");
      await Deno.mkdir(root);
      await fill(root);
      try {
        await Deno.rename(building, this.#imageDir(digest));
      } catch (error) {
        // Another flowctl stored the same image meanwhile: theirs is as good as ours.
        if (!(await this.root(digest))) throw error;
        await Deno.remove(building, { recursive: true });
      }
    } catch (error) {
      await Deno.remove(building, { recursive: true }).catch(() => {});
      throw error;
    }
    return join(this.#imageDir(digest), "rootfs");
  }

  #imageDir(digest: string): string {
    return join(this.dir, "images", digest.replace(":", "-"));
  }

  #refFile(reference: string): string {
    return join(this.dir, "refs", `${createHash("sha256").update(reference).digest("hex")}.json`);
  }
}

/** A pull this old is no longer running: its flowctl was killed mid-pull. */
const ABANDONED_MS = 24 * 60 * 60 * 1000;

/** Removes half-built images that a killed flowctl left in `tmp`. */
async function removeAbandoned(tmp: string): Promise<void> {
  for await (const entry of Deno.readDir(tmp)) {
    const path = join(tmp, entry.name);
    const info = await Deno.lstat(path).catch(() => undefined);
    const age = Date.now() - (info?.mtime?.getTime() ?? Date.now());
    if (age > ABANDONED_MS) await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}
