/** Per-component log files: `<dir>/<id>.log`, the previous run's kept as `<id>.log.1`. */
import { join } from "node:path";

/**
 * An append-only log file written in whole lines, synchronously, so writes never interleave.
 * Beside it, `<id>.log.idx` records when each chunk was written (`<end offset> <epoch ms>` per
 * line), so `flowctl logs` can merge several files in time order.
 */
export class LogFile {
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #index: Deno.FsFile;
  #offset = 0;
  #pending: { offset: number; time: number } | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(path: string, file: Deno.FsFile, index: Deno.FsFile) {
    this.path = path;
    this.#file = file;
    this.#index = index;
  }

  /**
   * Opens `<dir>/<id>.log` for a new run, keeping an existing one as `<id>.log.1`. The folder is
   * created 0700 and the file 0600: logs may hold secrets.
   */
  static async open(dir: string, id: string): Promise<LogFile> {
    await ensureLogDir(dir);
    const path = logPath(dir, id);
    for (const suffix of ["", ".idx"]) {
      try {
        await Deno.rename(`${path}${suffix}`, `${path}.1${suffix}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    const file = await Deno.open(path, { create: true, write: true, truncate: true, mode: 0o600 });
    const index = await Deno.open(`${path}.idx`, {
      create: true,
      write: true,
      truncate: true,
      mode: 0o600,
    });
    return new LogFile(path, file, index);
  }

  /** Appends bytes that end at a line boundary; resolves when they are written. */
  write(bytes: Uint8Array): void {
    if (this.#closed) return;
    // Synchronous: a page-cache write of one chunk takes microseconds, and it keeps writes of
    // stdout and stderr whole and in order without a queue of promises.
    writeFully(this.#file, bytes);
    this.#offset += bytes.length;
    // Chunks within INDEX_RESOLUTION_MS share one index entry, so a fast writer costs no extra
    // writes; the entry is written once time moves on.
    const now = Date.now();
    if (this.#pending && now - this.#pending.time < INDEX_RESOLUTION_MS) {
      this.#pending.offset = this.#offset;
      return;
    }
    this.#flushIndex();
    this.#pending = { offset: this.#offset, time: now };
    // A component that goes quiet still gets its entry written shortly.
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      if (!this.#closed) this.#flushIndex();
    }, INDEX_RESOLUTION_MS * 2);
  }

  #flushIndex(): void {
    if (!this.#pending) return;
    const { offset, time } = this.#pending;
    this.#pending = undefined;
    writeFully(this.#index, encoder.encode(`${offset} ${time}\n`));
  }

  /** Closes the file (after writing the last index entry). Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    try {
      this.#flushIndex();
    } finally {
      this.#file.close();
      this.#index.close();
    }
    return Promise.resolve();
  }
}

const encoder = new TextEncoder();
const INDEX_RESOLUTION_MS = 10;

function writeFully(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/** Creates the log folder with mode 0700 (and tightens an existing one we own). */
export async function ensureLogDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700).catch(() => {});
}

/**
 * The log file of component `id` in `dir`. Ids are validated by the pipeline schema, and this
 * refuses anything that could leave the folder anyway.
 * @throws {RangeError} for an id that is not a plain file name.
 */
export function logPath(dir: string, id: string): string {
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(id) || id.includes("..")) {
    throw new RangeError(`component id "${id}" cannot be used as a log file name`);
  }
  return join(dir, `${id}.log`);
}
