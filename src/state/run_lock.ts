/**
 * The run lock: one `flowctl run` of a pipeline per state folder at a time. It is an exclusive
 * flock on `<state dir>/<pipeline>.lock`; the kernel drops it when its holder exits, however it
 * exits, so a lock is never stale and nothing has to guess whether its owner died. The file
 * names its owner (pid, process start time, boot id) for the message a second run prints.
 *
 * The owner triple also labels containers: whoever finds them can tell whether the flowctl that
 * made them is verifiably dead before removing them (see isOwnerAlive).
 */
import { UserError } from "../user_error.ts";
import { join } from "node:path";
import * as v from "valibot";
import { readProcStat } from "../orchestrator/process_group.ts";
import { STATE_DIR_FIX, stateDir } from "./state_file.ts";
import { ensureOwnedDir } from "../trust/owned_dir.ts";
import { openOwnedFile, readOwnedFile } from "../trust/safe_file.ts";

const OwnerSchema = v.object({
  pid: v.number(),
  startTime: v.optional(v.number()),
  bootId: v.optional(v.string()),
  file: v.optional(v.string()),
});

/** A flowctl process, identified so that a reused pid or a reboot is never mistaken for it. */
export type RunOwner = v.InferOutput<typeof OwnerSchema>;

/** Another flowctl holds the pipeline's run lock. */
export class RunLockedError extends UserError {
  override name = "RunLockedError";
  readonly pipeline: string;
  readonly owner: RunOwner | undefined;
  constructor(pipeline: string, owner: RunOwner | undefined) {
    super(
      `Cannot start pipeline: "${pipeline}" is already running (flowctl pid ${
        owner?.pid ?? "unknown"
      }${owner?.file ? `, started from ${owner.file}` : ""}); stop it first`,
    );
    this.pipeline = pipeline;
    this.owner = owner;
  }
}

/** The boot id of this machine's kernel, which changes on every boot. */
export function bootId(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return undefined;
  }
}

/** This flowctl as an owner. */
export function currentOwner(): RunOwner {
  const startTime = readProcStat(Deno.pid)?.startTime;
  const boot = bootId();
  return {
    pid: Deno.pid,
    ...(startTime !== undefined ? { startTime } : {}),
    ...(boot !== undefined ? { bootId: boot } : {}),
  };
}

/**
 * Whether `owner` is still running: same boot, and its pid names a live process with the same
 * start time. Anything else (another boot, pid gone, pid reused) is verifiably dead.
 */
export function isOwnerAlive(owner: RunOwner): boolean {
  if (owner.bootId !== undefined && owner.bootId !== bootId()) return false;
  const stat = readProcStat(owner.pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return owner.startTime === undefined || stat.startTime === owner.startTime;
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

/** Labels that name the flowctl owning a container or network. */
export const LABEL_OWNER_PID = "dev.flowctl.owner-pid";
export const LABEL_OWNER_START = "dev.flowctl.owner-start-time";
export const LABEL_OWNER_BOOT = "dev.flowctl.owner-boot-id";

/** The owner labels of this flowctl. */
export function ownerLabels(): Record<string, string> {
  const owner = currentOwner();
  return {
    [LABEL_OWNER_PID]: String(owner.pid),
    ...(owner.startTime !== undefined ? { [LABEL_OWNER_START]: String(owner.startTime) } : {}),
    ...(owner.bootId !== undefined ? { [LABEL_OWNER_BOOT]: owner.bootId } : {}),
  };
}

/** The owner named by an object's labels; undefined for objects made before owners were labelled. */
export function ownerFromLabels(
  labels: Record<string, string> | null | undefined,
): RunOwner | undefined {
  const pid = Number(labels?.[LABEL_OWNER_PID]);
  if (!labels || !Number.isInteger(pid) || pid <= 0) return undefined;
  const startTime = Number(labels[LABEL_OWNER_START]);
  const boot = labels[LABEL_OWNER_BOOT];
  return {
    pid,
    ...(Number.isInteger(startTime) ? { startTime } : {}),
    ...(boot ? { bootId: boot } : {}),
  };
}
