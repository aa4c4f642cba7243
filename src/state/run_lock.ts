/**
 * The run lock: one `flowctl run` of a pipeline per state folder at a time. It is an exclusive
 * flock on `<state dir>/<pipeline>.lock`; the kernel drops it when its holder exits, however it
 * exits, so a lock is never stale and nothing has to guess whether its owner died. The file
 * names its owner (pid, process start time, boot id) for the message a second run prints.
 */
import { UserError } from "../user_error.ts";
import { join } from "node:path";
import * as v from "valibot";
import { currentOwner, OwnerSchema, type RunOwner } from "../proc/owner.ts";
import { STATE_DIR_FIX, stateDir } from "./state_file.ts";
import { ensureOwnedDir } from "../trust/owned_dir.ts";
import { openOwnedFile, readOwnedFile } from "../trust/safe_file.ts";

/** Another flowctl holds the pipeline's run lock. */
export class RunLockedError extends UserError {
  override name = "RunLockedError";
  readonly pipeline: string;
  readonly owner: RunOwner | undefined;
  constructor(pipeline: string, owner: RunOwner | undefined) {
    super(
      `Cannot start pipeline: "${pipeline}" is already running (flowctl pid ${
        owner?.pid ?? "unknown"
      }${
        owner?.file ? `, started from ${owner.file}` : ""
      }); stop it first with "flowctl down ${pipeline}"`,
    );
    this.pipeline = pipeline;
    this.owner = owner;
  }
}

/** The held run lock of one pipeline; disposing releases it. */
export class RunLock implements Disposable {
  readonly path: string;
  readonly #file: Deno.FsFile;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Takes the run lock of `pipeline`, without waiting.
   * @throws {RunLockedError} when another flowctl holds it.
   */
  static async acquire(pipeline: string, options: { file: string }): Promise<RunLock> {
    const dir = stateDir();
    await ensureOwnedDir(dir, STATE_DIR_FIX);
    const path = join(dir, `${pipeline}.lock`);
    // Never truncated on open: the holder's record must survive a second run opening the file.
    // A symlink or a file of someone else's is refused, never written through.
    const file = await openOwnedFile(path, STATE_DIR_FIX);
    if (!file.tryLockSync(true)) {
      file.close();
      throw new RunLockedError(pipeline, await readOwner(path));
    }
    const record = new TextEncoder().encode(
      JSON.stringify({ ...currentOwner(), file: options.file }) + "\n",
    );
    file.truncateSync(0);
    file.writeSync(record);
    return new RunLock(path, file);
  }

  /** Releases the lock; its file stays (removing it could race with a run taking it). */
  [Symbol.dispose](): void {
    this.#file.close();
  }
}

async function readOwner(path: string): Promise<RunOwner | undefined> {
  try {
    const bytes = await readOwnedFile(path, 64 * 1024, STATE_DIR_FIX);
    const parsed = v.safeParse(OwnerSchema, JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}
