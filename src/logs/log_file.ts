/** Per-component log files: `<dir>/<id>.log`, the previous run's kept as `<id>.log.1`. */
import { UserError } from "../user_error.ts";
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { isComponentId } from "../config/mod.ts";
import { checkOwnedDir, UntrustedPathError } from "../trust/owned_dir.ts";

const logger = getLogger(["flowctl", "logs"]);

/** The log folder cannot be created or written; nothing was started. */
export class LogDirError extends UserError {
  override name = "LogDirError";
  readonly dir: string;
  constructor(dir: string, cause: unknown) {
    super(
      `Cannot use the log folder "${dir}": ${
        describeFsError(cause)
      }; pass --log-dir with a writable folder`,
      { cause },
    );
    this.dir = dir;
  }
}

/**
 * An append-only log file written in whole lines, synchronously, so writes never interleave.
 * Beside it, `<id>.log.idx` records when each chunk was written (`<end offset> <epoch ms>` per
 * line), so `flowctl logs` can merge several files in time order.
 */
export class LogFile {
  readonly path: string;
  readonly component: string;
  readonly #file: Deno.FsFile;
  readonly #index: Deno.FsFile;
  #offset = 0;
  #pending: { offset: number; time: number } | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Set by the first failed write; from then on the file keeps the whole lines it has. */
  #failed = false;
  #indexFailed = false;

  private constructor(component: string, path: string, file: Deno.FsFile, index: Deno.FsFile) {
    this.component = component;
    this.path = path;
    this.#file = file;
    this.#index = index;
  }

  /**
   * Opens `<dir>/<id>.log` for a new run, keeping an existing one as `<id>.log.1`. The folder is
   * created 0700 and the file 0600: logs may hold secrets.
   * @throws {LogDirError} when the folder cannot be created or written.
   */
  static async open(dir: string, id: string): Promise<LogFile> {
    await ensureLogDir(dir);
    const path = logPath(dir, id);
    // Synchronous, like the writes: each is a metadata call of microseconds in a folder that is
    // the user's own, where an asynchronous call costs a trip through Deno's thread pool.
    for (const suffix of ["", ".idx"]) {
      try {
        Deno.renameSync(`${path}${suffix}`, `${path}.1${suffix}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    const options = { create: true, write: true, truncate: true, mode: 0o600 } as const;
    const file = Deno.openSync(path, options);
    const index = Deno.openSync(`${path}.idx`, options);
    return new LogFile(id, path, file, index);
  }

  /**
   * Appends bytes that end at a line boundary. Never throws: when the file cannot be written
   * (a full disk), it keeps the whole lines written so far, says so once, and takes no more, so
   * the component's output is still drained and shown.
   */
  write(bytes: Uint8Array): void {
    if (this.#closed || this.#failed) return;
    // Synchronous: a page-cache write of one chunk takes microseconds, and it keeps writes of
    // stdout and stderr whole and in order without a queue of promises.
    let written = 0;
    try {
      while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    } catch (error) {
      // Drop a partly written line, so the file ends with a whole one.
      const whole = bytes.subarray(0, written).lastIndexOf(NEWLINE) + 1;
      try {
        this.#file.truncateSync(this.#offset + whole);
      } catch {
        // the file keeps the partial line; nothing better can be done
      }
      if (whole > 0) this.#indexUpTo(this.#offset + whole);
      this.#flushIndex();
      this.#fail(error);
      return;
    }
    this.#indexUpTo(this.#offset + bytes.length);
  }

  /** Records in the index that the file now ends at `offset`. */
  #indexUpTo(offset: number): void {
    this.#offset = offset;
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
    if (!this.#pending || this.#indexFailed) return;
    const { offset, time } = this.#pending;
    this.#pending = undefined;
    try {
      writeFully(this.#index, encoder.encode(`${offset} ${time}\n`));
    } catch (error) {
      this.#indexFailed = true;
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    // Said once, at warning level (shown by default); the reason goes into the template escaped.
    const reason = describeFsError(error).replaceAll("{", "{{").replaceAll("}", "}}");
    logger.warning(
      `Cannot write log file {path} of component {component}: ${reason}; ` +
        "its further output is not written to the file",
      { path: this.path, component: this.component },
    );
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
const NEWLINE = 10;
const INDEX_RESOLUTION_MS = 10;

function writeFully(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/**
 * Makes sure flowctl can write log files in `dir`. A folder flowctl creates gets mode 0700 (logs
 * may hold secrets); an existing one, or one a symlink points to, keeps its mode, but must be
 * the user's own and writable by nobody else.
 * @throws {LogDirError} when the folder cannot be created or written.
 * @throws {UntrustedPathError} when another user could write in it.
 */
export async function ensureLogDir(dir: string): Promise<void> {
  try {
    const existing = await Deno.stat(dir).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    });
    if (!existing) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    else if (!existing.isDirectory) throw new Deno.errors.NotADirectory("Not a directory");
    // Log files are opened by name: a folder others can write could hold their symlinks.
    checkOwnedDir(dir, "pass --log-dir with a folder of your own (mode 0700)");
    // Creating a file is the only reliable test: root ignores modes, but not read-only mounts.
    await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".flowctl-write-check-" }));
  } catch (error) {
    if (error instanceof UntrustedPathError) throw error;
    throw new LogDirError(dir, error);
  }
}

/** The reason of a file system error without the path Deno appends (the caller names it). */
export function describeFsError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.match(/^.*?\(os error \d+\)/)?.[0] ?? message;
}

/**
 * The log file of component `id` in `dir`. Ids are validated by the pipeline schema, and this
 * refuses anything that could leave the folder anyway.
 * @throws {RangeError} for an id that is not a plain file name.
 */
export function logPath(dir: string, id: string): string {
  if (!isComponentId(id)) {
    throw new RangeError(`component id "${id}" cannot be used as a log file name`);
  }
  return join(dir, `${id}.log`);
}
