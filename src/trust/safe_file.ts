/**
 * Opening files without trusting what is on disk: new files are created exclusively (O_EXCL,
 * which never follows a symlink) and renamed into place; an existing file flowctl reopens must
 * be a regular file of this user, and the file opened must be the one checked (same device and
 * inode), so a symlink swapped in meanwhile is refused rather than followed.
 */
import { UntrustedPathError } from "./owned_dir.ts";

/**
 * Writes `data` to `path` atomically: a new temp file beside it (created exclusively, mode
 * `mode`), then a rename over `path`. A symlink planted at `path` is replaced, never followed.
 */
export async function writeFileAtomically(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
): Promise<void> {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode });
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/**
 * Opens `path` for reading and writing, creating it exclusively when missing. An existing file
 * must be a regular file owned by this user (not a symlink, FIFO or device), and stay the same
 * file between the check and the open.
 * @throws {UntrustedPathError} naming the file, with `fix`.
 */
export async function openOwnedFile(path: string, fix: string): Promise<Deno.FsFile> {
  const options = { read: true, write: true, mode: 0o600 } as const;
  try {
    return await Deno.open(path, { ...options, createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const before = await Deno.lstat(path);
  refuseUnlessOwnedFile(path, before, fix);
  const file = await Deno.open(path, options);
  const after = await file.stat();
  if (after.dev !== before.dev || after.ino !== before.ino) {
    file.close();
    throw new UntrustedPathError(path, "it was replaced while flowctl opened it", fix);
  }
  return file;
}

/**
 * Reads `path` when it is a regular file of this user (not a symlink), at most `limit` bytes.
 * @returns undefined when it does not exist.
 * @throws {UntrustedPathError} when it is anything else; {RangeError} when larger than `limit`.
 */
export async function readOwnedFile(
  path: string,
  limit: number,
  fix: string,
): Promise<Uint8Array | undefined> {
  let before: Deno.FileInfo;
  try {
    before = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  refuseUnlessOwnedFile(path, before, fix);
  using file = await Deno.open(path, { read: true });
  const after = await file.stat();
  if (after.dev !== before.dev || after.ino !== before.ino) {
    throw new UntrustedPathError(path, "it was replaced while flowctl opened it", fix);
  }
  return await readBounded(file, limit, path);
}

/** Reads to the end, at most `limit` bytes. @throws {RangeError} when there are more. */
export async function readBounded(
  reader: { read(buffer: Uint8Array): Promise<number | null> },
  limit: number,
  shown: string,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(limit + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const count = await reader.read(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  if (filled > limit) throw new RangeError(`"${shown}" is larger than ${limit} bytes`);
  return buffer.subarray(0, filled);
}

function refuseUnlessOwnedFile(path: string, info: Deno.FileInfo, fix: string): void {
  const uid = Deno.uid();
  if (info.isSymlink) throw new UntrustedPathError(path, "it is a symbolic link", fix);
  if (!info.isFile) throw new UntrustedPathError(path, "it is not a regular file", fix);
  if (uid !== null && info.uid !== uid) {
    throw new UntrustedPathError(
      path,
      `it is owned by uid ${info.uid}, not by uid ${uid} who runs flowctl`,
      fix,
    );
  }
}
