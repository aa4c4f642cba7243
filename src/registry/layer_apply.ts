/**
 * Applies image layers (tar streams) to a root folder, the way an engine stacks them: later
 * layers win, `.wh.<name>` removes a name of an earlier layer, `.wh..wh..opq` empties a folder
 * of what earlier layers put there. Every path is resolved inside the root, following the
 * image's own symlinks as the image sees them (an absolute link points into the root), so no
 * entry can write outside it.
 */
import { basename, dirname, join } from "node:path";
import { createTarDecoder } from "modern-tar";

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
const MAX_SYMLINK_HOPS = 40;

/** Thrown for a layer that cannot be applied; the message says which entry and why. */
export class LayerError extends Error {
  override name = "LayerError";
}

/**
 * Applies one uncompressed tar layer to `root`.
 * @throws {LayerError} for entries that cannot be applied (a hard link to a missing file).
 */
export async function applyLayer(root: string, tar: ReadableStream<Uint8Array>): Promise<void> {
  const resolver = new RootResolver(root);
  const written = new Set<string>();
  for await (const entry of tar.pipeThrough(createTarDecoder())) {
    const { header, body } = entry;
    const rel = cleanName(header.name);
    const type = header.type ?? "file";
    if (rel === undefined || !["file", "directory", "symlink", "link"].includes(type)) {
      await body.cancel();
      continue;
    }
    const name = basename(rel);
    const parentRel = dirname(rel);
    if (name === OPAQUE) {
      await body.cancel();
      await removeChildren(await resolver.resolve(parentRel, { create: true }), parentRel, written);
      resolver.forget();
      continue;
    }
    if (name.startsWith(WHITEOUT)) {
      await body.cancel();
      const parent = await resolver.resolve(parentRel, { create: false });
      if (parent !== undefined) await removePath(join(parent, name.slice(WHITEOUT.length)));
      resolver.forget();
      continue;
    }
    const parent = await resolver.resolve(parentRel, { create: true });
    if (parent === undefined) throw new LayerError(`cannot create the folder of "${rel}"`);
    const target = join(parent, name);
    for (let at = rel.indexOf("/"); at > 0; at = rel.indexOf("/", at + 1)) {
      written.add(rel.slice(0, at));
    }
    written.add(rel);
    const mode = header.mode ?? (type === "directory" ? 0o755 : 0o644);
    if (type === "directory") {
      const existing = await lstatOrUndefined(target);
      if (existing && !existing.isDirectory) await removePath(target);
      if (!existing?.isDirectory) await Deno.mkdir(target);
      await Deno.chmod(target, (mode & 0o777) | 0o700);
      await body.cancel();
      continue;
    }
    // A file, link or symlink replaces whatever was there (never writes through a hard link).
    await removePath(target);
    resolver.forget();
    if (type === "file") {
      const file = await Deno.open(target, { write: true, createNew: true, mode: 0o600 });
      await body.pipeTo(file.writable);
      await Deno.chmod(target, mode & 0o777);
    } else if (type === "symlink") {
      await body.cancel();
      await Deno.symlink(header.linkname ?? "", target);
    } else {
      await body.cancel();
      const linked = cleanName(header.linkname ?? "");
      const source = linked === undefined
        ? undefined
        : await resolver.resolve(dirname(linked), { create: false });
      if (source === undefined) {
        throw new LayerError(`hard link "${rel}" points to "${header.linkname}", which is missing`);
      }
      try {
        await Deno.link(join(source, basename(linked ?? "")), target);
      } catch (error) {
        throw new LayerError(
          `hard link "${rel}" points to "${header.linkname}", which is missing`,
          { cause: error },
        );
      }
    }
  }
}

/**
 * The real path of `rel` inside `root`, following symlinks (the last one too) within the root;
 * undefined when it does not exist.
 */
export async function resolveInRoot(root: string, rel: string): Promise<string | undefined> {
  const resolver = new RootResolver(root);
  const parent = await resolver.resolve(dirname(rel), { create: false });
  if (parent === undefined) return undefined;
  const path = join(parent, basename(rel));
  const info = await lstatOrUndefined(path);
  if (!info) return undefined;
  if (!info.isSymlink) return path;
  return await resolver.resolve(rel, { create: false, file: true });
}

/** Resolves folders inside a root, remembering the ones known to be real folders. */
class RootResolver {
  readonly #root: string;
  #knownDirs = new Set<string>();

  constructor(root: string) {
    this.#root = root;
  }

  /** Forgets what it knew, after a removal or replacement changed the tree. */
  forget(): void {
    this.#knownDirs.clear();
  }

  /**
   * The absolute path of folder `rel` (or, with `file`, of whatever `rel` finally names),
   * creating missing folders with `create`; undefined when missing and not created.
   */
  async resolve(
    rel: string,
    options: { create: boolean; file?: boolean },
  ): Promise<string | undefined> {
    let pending = rel.split("/").filter((part) => part !== "" && part !== ".");
    let current: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const [part = "", ...rest] = pending;
      pending = rest;
      if (part === "..") {
        current.pop(); // ".." at the root stays at the root, as in the image
        continue;
      }
      const key = [...current, part].join("/");
      if (this.#knownDirs.has(key)) {
        current.push(part);
        continue;
      }
      const path = join(this.#root, key);
      const info = await lstatOrUndefined(path);
      if (info?.isSymlink) {
        if (++hops > MAX_SYMLINK_HOPS) throw new LayerError(`too many symlinks resolving "${rel}"`);
        const link = await Deno.readLink(path);
        if (link.startsWith("/")) current = [];
        pending = [...link.split("/").filter((p) => p !== "" && p !== "."), ...pending];
        continue;
      }
      if (!info) {
        if (!options.create) return undefined;
        await Deno.mkdir(path);
      } else if (!info.isDirectory) {
        if (options.file && pending.length === 0) return path;
        if (!options.create) return undefined;
        await removePath(path);
        await Deno.mkdir(path);
      }
      this.#knownDirs.add(key);
      current.push(part);
    }
    return join(this.#root, ...current);
  }
}

/** An entry name relative to the root, or undefined for the root itself and unusable names. */
function cleanName(name: string): string | undefined {
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.length === 0 || parts.includes("..")) return undefined;
  return parts.join("/");
}

/** Removes what earlier layers put in a folder (an opaque whiteout), keeping this layer's. */
async function removeChildren(dir: string | undefined, rel: string, keep: Set<string>) {
  if (dir === undefined) return;
  for await (const child of Deno.readDir(dir)) {
    const childRel = rel === "." ? child.name : `${rel}/${child.name}`;
    if (!keep.has(childRel)) await removePath(join(dir, child.name));
  }
}

async function removePath(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
