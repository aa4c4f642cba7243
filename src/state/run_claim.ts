/**
 * A run's claim on its pipeline name: refused while another flowctl runs the pipeline, it hands
 * over what a dead earlier run recorded (for cleanup), and removes the state file when disposed.
 */
import { UserError } from "../user_error.ts";
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

  private constructor(pipeline: string, previous: RunState | undefined) {
    this.pipeline = pipeline;
    this.previous = previous;
  }

  /** @throws {PipelineRunningError} when a live flowctl runs `pipeline`. */
  static async take(pipeline: string): Promise<RunClaim> {
    const previous = await readRunState(pipeline);
    if (previous && isRunLive(previous) && previous.flowctl.pid !== Deno.pid) {
      throw new PipelineRunningError(
        `Cannot start pipeline: "${pipeline}" is already running (flowctl pid ${previous.flowctl.pid}, started from ${previous.file}); stop it first`,
      );
    }
    return new RunClaim(pipeline, previous);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await removeRunState(this.pipeline);
  }
}
