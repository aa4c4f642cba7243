/**
 * The run state file: what a running flowctl has started (pids with start times, containers,
 * networks, log files) and how to reach its control plane. `flowctl status` reads it, and
 * `flowctl down` uses it to clean up after a killed run.
 */
import { UserError } from "../user_error.ts";
import { isAbsolute, join } from "node:path";
import * as v from "valibot";
import { ORCHESTRATOR_KINDS } from "../config/pipeline.ts";
import { readProcStat } from "../proc/process_group.ts";
import { bootId } from "../proc/owner.ts";
import { ensureOwnedDir, ownedDirExists, UntrustedPathError } from "../trust/owned_dir.ts";
import { readOwnedFile, writeFileAtomically } from "../trust/safe_file.ts";
import { xdgBase } from "../trust/user_home.ts";

const ExitSchema = v.object({ code: v.number(), signal: v.nullable(v.string()) });

export const RunStateSchema = v.object({
  version: v.literal(1),
  pipeline: v.string(),
  file: v.string(),
  runId: v.string(),
  orchestrator: v.picklist(ORCHESTRATOR_KINDS),
  flowctl: v.object({
    pid: v.number(),
    startTime: v.optional(v.number()),
    /** The boot the pid belongs to: start times count from boot, so only one boot's mean anything. */
    bootId: v.optional(v.string()),
  }),
  controlPlane: v.optional(
    v.object({ host: v.string(), port: v.number(), pid: v.optional(v.number()) }),
  ),
  logDir: v.string(),
  networkId: v.optional(v.string()),
  /** The file's metadata that `status --output json` shows (Go flowctl files carry it). */
  metadata: v.optional(v.object({
    namespace: v.optional(v.string()),
    labels: v.record(v.string(), v.string()),
    annotations: v.record(v.string(), v.string()),
  })),
  updatedAt: v.number(),
  components: v.array(v.object({
    id: v.string(),
    kind: v.string(),
    phase: v.string(),
    pid: v.optional(v.number()),
    /** Start time of the pid (clock ticks since boot), so a reused pid is never signalled. */
    pidStartTime: v.optional(v.number()),
    containerId: v.optional(v.string()),
    /** With `replicas: N` (N > 1): each instance, replica 1 first. */
    replicas: v.optional(v.array(v.object({
      pid: v.optional(v.number()),
      pidStartTime: v.optional(v.number()),
      containerId: v.optional(v.string()),
    }))),
    restarts: v.number(),
    startedAt: v.optional(v.number()),
    lastExit: v.optional(ExitSchema),
    logFile: v.optional(v.string()),
  })),
  /** The data edges (`inputs`) and how their events move: direct, or driven by the data path. */
  edges: v.optional(v.array(v.object({
    from: v.string(),
    to: v.string(),
    mode: v.picklist(["driven", "direct", "at-run"]),
    reason: v.string(),
    events: v.optional(v.number()),
    bytes: v.optional(v.number()),
    eventsPerSecond: v.optional(v.number()),
    bytesPerSecond: v.optional(v.number()),
    dropped: v.optional(v.number()),
    filtered: v.optional(v.number()),
  }))),
});

export type RunState = v.InferOutput<typeof RunStateSchema>;

/**
 * Folder of state files: `$FLOWCTL_STATE_DIR`, else `$XDG_STATE_HOME/flowctl`, else
 * `<home>/.local/state/flowctl` (home from `$HOME` or the user database, never a shared folder).
 * @throws {NoHomeError} when there is no home and neither variable is set.
 */
export function stateDir(): string {
  const explicit = Deno.env.get("FLOWCTL_STATE_DIR");
  if (explicit) return explicit;
  return join(xdgBase("XDG_STATE_HOME", ".local/state"), "flowctl");
}

/** The fix named when the state folder is not the user's own. */
export const STATE_DIR_FIX =
  "make it yours and private (chown, chmod 700) or set FLOWCTL_STATE_DIR to a folder of your own";

/**
 * Whether the state folder exists, after checking it is this user's own.
 * @throws {UntrustedPathError} when another user could write there.
 */
export function stateDirExists(): boolean {
  return ownedDirExists(stateDir(), STATE_DIR_FIX);
}

export function statePath(pipeline: string): string {
  return join(stateDir(), `${pipeline}.json`);
}

/** The state folder cannot be created or written, so a run could not be found or stopped. */
export class StateDirError extends UserError {
  override name = "StateDirError";
  readonly dir: string;
  constructor(dir: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `Cannot use the state folder "${dir}": ${
        reason.match(/^.*?\(os error \d+\)/)?.[0] ?? reason
      }; set FLOWCTL_STATE_DIR to a writable folder`,
      { cause },
    );
    this.dir = dir;
  }
}

/**
 * Creates the state folder (0700) and checks that files can be written in it.
 * @throws {StateDirError} when it cannot: a run without a state file could not be found by
 * `status`, `logs` or `down`, nor refused when started twice.
 */
export async function ensureStateDir(): Promise<void> {
  const dir = stateDir();
  try {
    await ensureOwnedDir(dir, STATE_DIR_FIX);
    // Creating a file is the only reliable test: root ignores modes, but not read-only mounts.
    await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".write-check-" }));
  } catch (error) {
    if (error instanceof UntrustedPathError) throw error;
    throw new StateDirError(dir, error);
  }
}

/** Writes the state atomically (temp file + rename), mode 0600, and records its log folder. */
export async function writeRunState(state: RunState): Promise<void> {
  await ensureOwnedDir(stateDir(), STATE_DIR_FIX);
  const path = statePath(state.pipeline);
  await writeAtomically(path, JSON.stringify(state, null, 2));
  const logDirRecord = logDirPath(state.pipeline);
  if (recordedLogDirs.get(logDirRecord) !== state.logDir) {
    await writeAtomically(logDirRecord, `${state.logDir}\n`);
    recordedLogDirs.set(logDirRecord, state.logDir);
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFileAtomically(path, text, 0o600);
}

/** State files are small; a larger one was not written by flowctl. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

/** The text of a file in the state folder, or undefined when missing, not ours or unreadable. */
async function readStateText(path: string): Promise<string | undefined> {
  try {
    const bytes = await readOwnedFile(path, MAX_STATE_BYTES, STATE_DIR_FIX);
    return bytes && new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
}

/** Log folders this process has recorded, by record path, so each is written once per run. */
const recordedLogDirs = new Map<string, string>();

/**
 * `<pipeline>.logdir`: the log folder of the pipeline's latest run. Unlike the state file it stays
 * after the run, so `flowctl logs` finds the files from any folder.
 */
function logDirPath(pipeline: string): string {
  return join(stateDir(), `${pipeline}.logdir`);
}

/** The log folder the latest run of `pipeline` used, or undefined when none was recorded. */
export async function readRecordedLogDir(pipeline: string): Promise<string | undefined> {
  if (!stateDirExists()) return undefined;
  const dir = (await readStateText(logDirPath(pipeline)))?.trim();
  return dir && isAbsolute(dir) ? dir : undefined;
}

/**
 * Reads the state of `pipeline`, or undefined when there is none (or it is unreadable, or not a
 * regular file of this user).
 * @throws {UntrustedPathError} when the state folder is not this user's own.
 */
export async function readRunState(pipeline: string): Promise<RunState | undefined> {
  if (!stateDirExists()) return undefined;
  return await readStateFile(statePath(pipeline));
}

/** Reads a state file that is a regular file of this user; undefined otherwise. */
export async function readStateFile(path: string): Promise<RunState | undefined> {
  try {
    const text = await readStateText(path);
    if (text === undefined) return undefined;
    const parsed = v.safeParse(RunStateSchema, JSON.parse(text));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/** Every readable state file. */
export async function listRunStates(): Promise<RunState[]> {
  const states: RunState[] = [];
  if (!stateDirExists()) return states;
  try {
    for await (const entry of Deno.readDir(stateDir())) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const state = await readStateFile(join(stateDir(), entry.name));
      if (state) states.push(state);
    }
  } catch {
    // no state folder yet
  }
  return states.sort((a, b) => a.pipeline.localeCompare(b.pipeline));
}

export async function removeRunState(pipeline: string): Promise<void> {
  await Deno.remove(statePath(pipeline)).catch(() => {});
}

/**
 * Whether the flowctl that wrote `state` is still alive: its pid names a live process of this
 * user with the recorded start time (and boot, when recorded). A state without a start time
 * proves nothing, so its flowctl counts as gone and is never signalled.
 */
export function isRunLive(state: RunState): boolean {
  const { pid, startTime, bootId: boot } = state.flowctl;
  if (startTime === undefined) return false;
  if (boot !== undefined && boot !== bootId()) return false;
  const stat = readProcStat(pid);
  if (!stat || stat.state === "Z" || stat.startTime !== startTime) return false;
  try {
    return Deno.statSync(`/proc/${pid}`).uid === Deno.uid();
  } catch {
    return false;
  }
}
