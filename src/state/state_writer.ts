/** Keeps the state file current while a pipeline runs, coalescing bursts of changes. */
import { absolutePath } from "../absolute_path.ts";
import type { Pipeline } from "../config/mod.ts";
import { readProcStat } from "../proc/process_group.ts";
import { bootId } from "../proc/owner.ts";
import { type RunState, writeRunState } from "./state_file.ts";

const MIN_GAP_MS = 200;

/** Writes the state file when a run changes, at most every 200 ms; `flush()` writes at once. */
export class StateWriter {
  readonly #build: () => RunState;
  #writing: Promise<void> = Promise.resolve();
  /** The write that is queued behind the current one, not begun yet. */
  #queued: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastWrite = 0;
  #closed = false;

  constructor(build: () => RunState) {
    this.#build = build;
  }

  /** Schedules a write; at most one every 200 ms, the last change always written. */
  changed(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastWrite + MIN_GAP_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, wait);
  }

  /** Writes now. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#write();
  }

  /** Stops scheduling writes (the caller removes or keeps the file). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
  }

  /**
   * Queues a write of the state as it is when the write begins. A write already queued and not
   * begun covers every change made meanwhile, so a burst of n changes costs at most two writes,
   * not n snapshots of n components held in memory until they are written.
   */
  #write(): Promise<void> {
    this.#lastWrite = Date.now();
    this.#queued ??= this.#writing.then(() => {
      this.#queued = undefined;
      return writeRunState(this.#build());
    }).catch(() => {});
    this.#writing = this.#queued;
    return this.#queued;
  }
}

/** The parts of a run that its state file records. */
export interface RunStateParts {
  pipeline: Pipeline;
  runId: string;
  logDir: string;
  controlPlane: { host: string; port: number; pid?: number | undefined };
  networkId?: string | undefined;
  components: RunState["components"];
  edges?: NonNullable<RunState["edges"]>;
}

const flowctlStartTime = readProcStat(Deno.pid)?.startTime;
const flowctlBoot = bootId();

/** The state file's content for a run of this flowctl process. */
export function buildRunState(parts: RunStateParts): RunState {
  const { pipeline } = parts;
  return {
    version: 1,
    pipeline: pipeline.name,
    file: pipeline.file === "-" ? "-" : absolutePath(pipeline.file),
    runId: parts.runId,
    orchestrator: pipeline.orchestrator,
    flowctl: {
      pid: Deno.pid,
      ...(flowctlStartTime !== undefined ? { startTime: flowctlStartTime } : {}),
      ...(flowctlBoot !== undefined ? { bootId: flowctlBoot } : {}),
    },
    controlPlane: parts.controlPlane,
    logDir: parts.logDir,
    ...(parts.networkId ? { networkId: parts.networkId } : {}),
    metadata: {
      ...(pipeline.namespace !== undefined ? { namespace: pipeline.namespace } : {}),
      labels: pipeline.labels,
      annotations: pipeline.annotations,
    },
    updatedAt: Date.now(),
    components: parts.components,
    ...(parts.edges && parts.edges.length > 0 ? { edges: parts.edges } : {}),
  };
}
