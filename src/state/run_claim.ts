/**
 * A run's claim on its pipeline name: the pipeline's run lock (refused while another flowctl
 * holds it), what a dead earlier run recorded (for cleanup), and on disposal the state file
 * removed and the lock released.
 */
import { absolutePath } from "../absolute_path.ts";
import type { Pipeline } from "../config/mod.ts";
import { UserError } from "../user_error.ts";
import { RunLock } from "./run_lock.ts";
import { isRunLive, readRunState, removeRunState, type RunState } from "./state_file.ts";

/** Another live flowctl runs the pipeline. */
export class PipelineRunningError extends UserError {
  override name = "PipelineRunningError";
}

/** Held for the length of a run; disposing removes the run's state file. */
export class RunClaim implements AsyncDisposable {
  readonly pipeline: string;
  /** The state of an earlier run whose flowctl is dead: what it started may still be running. */
  readonly previous: RunState | undefined;

  readonly #lock: RunLock;

  private constructor(pipeline: string, previous: RunState | undefined, lock: RunLock) {
    this.pipeline = pipeline;
    this.previous = previous;
    this.#lock = lock;
  }

  /**
   * Takes the pipeline's run lock (the kernel releases it when flowctl dies, so it is never
   * stale) and reads what an earlier run left.
   * @throws {RunLockedError} when another flowctl holds the lock.
   * @throws {PipelineRunningError} when a live flowctl that took no lock runs `pipeline`.
   */
  static async take(pipeline: Pipeline): Promise<RunClaim> {
    const lock = await RunLock.acquire(pipeline.name, {
      file: pipeline.file === "-" ? "-" : absolutePath(pipeline.file),
    });
    try {
      const previous = await readRunState(pipeline.name);
      if (previous && isRunLive(previous) && previous.flowctl.pid !== Deno.pid) {
        throw new PipelineRunningError(
          `Cannot start pipeline: "${pipeline.name}" is already running (flowctl pid ${previous.flowctl.pid}, started from ${previous.file}); stop it first with "flowctl down ${pipeline.name}"`,
        );
      }
      return new RunClaim(pipeline.name, previous, lock);
    } catch (error) {
      lock[Symbol.dispose]();
      throw error;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await removeRunState(this.pipeline);
    } finally {
      this.#lock[Symbol.dispose]();
    }
  }
}
