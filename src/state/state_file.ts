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

const ExitSchema = v.object({ code: v.number(), signal: v.nullable(v.string()) });

export const RunStateSchema = v.object({
  version: v.literal(1),
  pipeline: v.string(),
  file: v.string(),
  runId: v.string(),
  orchestrator: v.picklist(ORCHESTRATOR_KINDS),
  flowctl: v.object({ pid: v.number(), startTime: v.optional(v.number()) }),
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
  }))),
});

export type RunState = v.InferOutput<typeof RunStateSchema>;

/** Folder of state files: `$FLOWCTL_STATE_DIR`, else `~/.local/state/flowctl`. */
export function stateDir(): string {
  const explicit = Deno.env.get("FLOWCTL_STATE_DIR");
  if (explicit) return explicit;
  const base = Deno.env.get("XDG_STATE_HOME") ??
    join(Deno.env.get("HOME") ?? "/tmp", ".local", "state");
  return join(base, "flowctl");
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
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    // Creating a file is the only reliable test: root ignores modes, but not read-only mounts.
    await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".write-check-" }));
  } catch (error) {
    throw new StateDirError(dir, error);
  }
}

/** Writes the state atomically (temp file + rename), mode 0600, and records its log folder. */
export async function writeRunState(state: RunState): Promise<void> {
  const dir = stateDir();
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = statePath(state.pipeline);
  await writeAtomically(path, JSON.stringify(state, null, 2));
  const logDirRecord = logDirPath(state.pipeline);
  if (recordedLogDirs.get(logDirRecord) !== state.logDir) {
    await writeAtomically(logDirRecord, `${state.logDir}\n`);
    recordedLogDirs.set(logDirRecord, state.logDir);
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temp, text, { mode: 0o600 });
  await Deno.rename(temp, path);
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
  try {
    const dir = (await Deno.readTextFile(logDirPath(pipeline))).trim();
    return isAbsolute(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the state of `pipeline`, or undefined when there is none (or it is unreadable). */
export async function readRunState(pipeline: string): Promise<RunState | undefined> {
  return await readStateFile(statePath(pipeline));
}

export async function readStateFile(path: string): Promise<RunState | undefined> {
  try {
    const parsed = v.safeParse(RunStateSchema, JSON.parse(await Deno.readTextFile(path)));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/** Every readable state file. */
export async function listRunStates(): Promise<RunState[]> {
  const states: RunState[] = [];
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

/** Whether the flowctl that wrote `state` is still alive (same pid and start time). */
export function isRunLive(state: RunState): boolean {
  const stat = readProcStat(state.flowctl.pid);
  if (!stat || stat.state === "Z") return false;
  return state.flowctl.startTime === undefined || stat.startTime === state.flowctl.startTime;
}
