/**
 * Applies image layers (tar streams) to a root folder, the way an engine stacks them: later
 * layers win, `.wh.<name>` removes a name of an earlier layer, `.wh..wh..opq` empties a folder
 * of what earlier layers put there. Every path is resolved inside the root, following the
 * image's own symlinks as the image sees them (an absolute link points into the root), so no
 * entry, whiteouts included, can write or remove outside it. An image is untrusted input: its
 * unpacked size, entry count and path depth are limited, the work per entry is linear in its
 * path's depth, and the caller's signal stops it between any two reads.
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

/** Limits on what an image may unpack to, over all of its layers. */
export interface UnpackLimits {
  /** Bytes of uncompressed tar. */
  maxBytes: number;
  maxEntries: number;
  /** Components of an entry's path. */
  maxDepth: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxBytes: 16 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxDepth: 256,
};

/** What an image's layers have used of their limits so far; shared by its layers. */
export class UnpackBudget {
  readonly limits: UnpackLimits;
  bytes = 0;
  entries = 0;
  constructor(limits: Partial<UnpackLimits> = {}) {
    this.limits = { ...DEFAULT_UNPACK_LIMITS, ...limits };
  }
}

export interface ApplyLayerOptions {
  budget?: UnpackBudget;
  signal?: AbortSignal | undefined;
}

/**
 * Applies one uncompressed tar layer to `root`.
 * @throws {LayerError} for entries that cannot be applied (a hard link to a missing file) and
 * for a layer past its limits; the signal's reason when it aborts.
 */
export async function applyLayer(
  root: string,
  tar: ReadableStream<Uint8Array>,
  options: ApplyLayerOptions = {},
): Promise<void> {
  const budget = options.budget ?? new UnpackBudget();
  const signal = options.signal;
  const layer = new LayerWriter(root);
  const counted = tar.pipeThrough(countBytes(budget, signal), signal ? { signal } : {});
  for await (const { header, body } of counted.pipeThrough(createTarDecoder())) {
    signal?.throwIfAborted();
    if (++budget.entries > budget.limits.maxEntries) {
      await body.cancel();
      throw new LayerError(`the image has more than ${budget.limits.maxEntries} entries`);
    }
    const rel = cleanName(header.name);
    const type = header.type ?? "file";
    if (rel === undefined || !["file", "directory", "symlink", "link"].includes(type)) {
      await body.cancel();
      continue;
    }
    if (rel.depth > budget.limits.maxDepth) {
      await body.cancel();
      throw new LayerError(
        `entry "${header.name.slice(0, 200)}…" is more than ${budget.limits.maxDepth} folders deep`,
      );
    }
    await layer.apply(rel.path, type, header, body, signal);
  }
}

/** Counts the uncompressed bytes against the budget, so a gzip bomb ends at the limit. */
function countBytes(
  budget: UnpackBudget,
  signal: AbortSignal | undefined,
): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      signal?.throwIfAborted();
      budget.bytes += chunk.byteLength;
      if (budget.bytes > budget.limits.maxBytes) {
        throw new LayerError(`the image unpacks to more than ${budget.limits.maxBytes} bytes`);
      }
      controller.enqueue(chunk);
    },
  });
}

interface EntryHeader {
  name: string;
  mode?: number | undefined;
  linkname?: string | undefined;
}

/** Writes one layer's entries into the root. */
class LayerWriter {
  readonly #resolver: RootResolver;
  /** Paths this layer wrote, with every folder above them (kept by an opaque whiteout). */
  readonly #written = new Set<string>();

  constructor(root: string) {
    this.#resolver = new RootResolver(root);
  }

  async apply(
    rel: string,
    type: string,
    header: EntryHeader,
    body: ReadableStream<Uint8Array>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const name = basename(rel);
    const parentRel = dirname(rel);
    if (name === OPAQUE || name.startsWith(WHITEOUT)) {
      await body.cancel();
      return await this.#whiteout(parentRel, name);
    }
    const folder = await this.#resolver.resolveFolder(parentRel, { create: true });
    if (folder === undefined) throw new LayerError(`cannot create the folder of "${rel}"`);
    const target = `${folder.path}/${name}`;
    this.#markWritten(rel);
    const mode = header.mode ?? (type === "directory" ? 0o755 : 0o644);
    if (type === "directory") {
      await body.cancel();
      await this.#makeFolder(target);
      await Deno.chmod(target, (mode & 0o777) | 0o700);
      // Known from now on: the next entry inside it needs no lookup.
      folder.node.children.set(name, { children: new Map() });
      return;
    }
    // A file, link or symlink replaces whatever was there (never writes through a hard link).
    await this.#remove(target);
    if (type === "file") {
      const file = await Deno.open(target, { write: true, createNew: true, mode: 0o600 });
      await body.pipeTo(file.writable, signal ? { signal } : {});
      await Deno.chmod(target, mode & 0o777);
    } else if (type === "symlink") {
      await body.cancel();
      await Deno.symlink(header.linkname ?? "", target);
    } else {
      await body.cancel();
      await this.#hardLink(rel, header.linkname ?? "", target);
    }
  }

  async #whiteout(parentRel: string, name: string): Promise<void> {
    if (name === OPAQUE) {
      const dir = await this.#resolver.resolve(parentRel, { create: true });
      await removeChildren(dir, parentRel, this.#written);
      this.#resolver.forget();
      return;
    }
    const hidden = name.slice(WHITEOUT.length);
    // ".wh.." would name the folder around this one: only a plain name is removed.
    if (hidden === "" || hidden === "." || hidden === ".." || hidden.includes("/")) {
      throw new LayerError(`whiteout "${join(parentRel, name)}" names no file of the image`);
    }
    const parent = await this.#resolver.resolve(parentRel, { create: false });
    if (parent !== undefined) await this.#remove(join(parent, hidden));
  }

  async #hardLink(rel: string, linkname: string, target: string): Promise<void> {
    const linked = cleanName(linkname);
    const source = linked === undefined
      ? undefined
      : await this.#resolver.resolve(dirname(linked.path), { create: false });
    const missing = () =>
      new LayerError(`hard link "${rel}" points to "${linkname}", which is missing`);
    if (source === undefined || linked === undefined) throw missing();
    try {
      await Deno.link(join(source, basename(linked.path)), target);
    } catch (error) {
      throw new LayerError(missing().message, { cause: error });
    }
  }

  /** Creates folder `target`, replacing a non-folder there (one call when nothing is there). */
  async #makeFolder(target: string): Promise<void> {
    try {
      return await Deno.mkdir(target);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    if ((await Deno.lstat(target)).isDirectory) return;
    await this.#remove(target);
    await Deno.mkdir(target);
  }

  /** Removes `path`; folders the resolver knew may be gone only if it was a folder or link. */
  async #remove(path: string): Promise<void> {
    const info = await lstatOrUndefined(path);
    if (!info) return;
    await removePath(path);
    if (!info.isFile) this.#resolver.forget();
  }

  /** Adds `rel` and the folders above it; stops at the first already known, so linear overall. */
  #markWritten(rel: string): void {
    for (let path = rel; path !== "." && !this.#written.has(path); path = dirname(path)) {
      this.#written.add(path);
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

/** Folders known to be real folders (no symlink on the way), as a tree of names. */
interface KnownDir {
  children: Map<string, KnownDir>;
}

/**
 * Resolves folders inside a root, remembering the ones known to be real folders. The memory is
 * a tree walked by name, so resolving a path costs the length of its names, never a hash or a
 * join of the whole path per component (which made deep layers quadratic).
 */
class RootResolver {
  readonly #root: string;
  #known: KnownDir = { children: new Map() };

  constructor(root: string) {
    this.#root = root;
  }

  /** Forgets what it knew, after a removal or replacement changed the tree. */
  forget(): void {
    this.#known = { children: new Map() };
  }

  /**
   * The absolute path of folder `rel` (or, with `file`, of whatever `rel` finally names),
   * creating missing folders with `create`; undefined when missing and not created.
   */
  async resolve(
    rel: string,
    options: { create: boolean; file?: boolean },
  ): Promise<string | undefined> {
    return (await this.resolveFolder(rel, options))?.path;
  }

  /** As `resolve`, with the folder's place in the memory (for folders created in it). */
  async resolveFolder(
    rel: string,
    options: { create: boolean; file?: boolean },
  ): Promise<{ path: string; node: KnownDir } | undefined> {
    // Components still to walk, the next one last, so taking one is O(1).
    const pending = parts(rel).reverse();
    const current: string[] = [];
    const nodes: KnownDir[] = [this.#known];
    let path = this.#root;
    const paths: string[] = [path];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.pop() ?? "";
      if (part === "..") {
        // ".." at the root stays at the root, as in the image
        if (current.length > 0) {
          current.pop();
          nodes.pop();
          paths.pop();
          path = paths.at(-1) ?? this.#root;
        }
        continue;
      }
      const parent = nodes.at(-1) ?? this.#known;
      const next = `${path}/${part}`;
      let node = parent.children.get(part);
      if (!node) {
        const info = await lstatOrUndefined(next);
        if (info?.isSymlink) {
          if (++hops > MAX_SYMLINK_HOPS) {
            throw new LayerError(`too many symlinks resolving "${rel}"`);
          }
          const link = await Deno.readLink(next);
          if (link.startsWith("/")) {
            current.length = 0;
            nodes.length = 1;
            paths.length = 1;
            path = this.#root;
          }
          pending.push(...parts(link).reverse());
          continue;
        }
        if (!info) {
          if (!options.create) return undefined;
          await Deno.mkdir(next);
        } else if (!info.isDirectory) {
          if (options.file && pending.length === 0) return { path: next, node: parent };
          if (!options.create) return undefined;
          await removePath(next);
          await Deno.mkdir(next);
        }
        node = { children: new Map() };
        parent.children.set(part, node);
      }
      current.push(part);
      nodes.push(node);
      paths.push(next);
      path = next;
    }
    return { path, node: nodes.at(-1) ?? this.#known };
  }
}

function parts(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

/** An entry name relative to the root, or undefined for the root itself and unusable names. */
function cleanName(name: string): { path: string; depth: number } | undefined {
  const names = parts(name);
  if (names.length === 0 || names.includes("..")) return undefined;
  return { path: names.join("/"), depth: names.length };
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
