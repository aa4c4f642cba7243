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
import { ensureOwnedDir } from "../trust/owned_dir.ts";
import { writeFileAtomically } from "../trust/safe_file.ts";
import { CACHE_DIR_FIX, cacheDir } from "../trust/user_home.ts";

const RefRecordSchema = v.object({ reference: v.string(), digest: v.string() });

/**
 * The image cache. Every use first checks that the folder is the user's own and writable by
 * nobody else: binaries from it are run, so a folder another user can write is refused.
 */
export class ImageCache {
  readonly dir: string;
  #checked: Promise<void> | undefined;

  constructor(dir: string = cacheDir()) {
    this.dir = dir;
  }

  /** @throws {UntrustedPathError} when the cache folder is not this user's own. */
  #trusted(): Promise<void> {
    this.#checked ??= ensureOwnedDir(this.dir, CACHE_DIR_FIX);
    return this.#checked;
  }

  /** The root folder of the image with manifest `digest`, when it is cached. */
  async root(digest: string): Promise<string | undefined> {
    await this.#trusted();
    const root = join(this.#imageDir(digest), "rootfs");
    try {
      return (await Deno.stat(root)).isDirectory ? root : undefined;
    } catch {
      return undefined;
    }
  }

  /** The digest `reference` resolved to when it was last pulled. */
  async resolved(reference: string): Promise<string | undefined> {
    await this.#trusted();
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
    await this.#trusted();
    const file = this.#refFile(reference);
    await Deno.mkdir(join(this.dir, "refs"), { recursive: true, mode: 0o700 });
    await writeFileAtomically(file, JSON.stringify({ reference, digest }) + "\n", 0o644);
  }

  /**
   * Builds an image: `fill` gets an empty root folder; when it succeeds the folder becomes the
   * cached image `digest`, and when it throws the folder is removed.
   */
  async store(digest: string, fill: (root: string) => Promise<void>): Promise<string> {
    await this.#trusted();
    const tmp = join(this.dir, "tmp");
    await Deno.mkdir(tmp, { recursive: true, mode: 0o700 });
    await Deno.mkdir(join(this.dir, "images"), { recursive: true, mode: 0o700 });
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
