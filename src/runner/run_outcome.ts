/** The last event of a run: failed (with the failed component's log tail), completed or stopped. */
import { readLogTail } from "../logs/log_tail.ts";
import type { ComponentFailedError } from "../orchestrator/orchestrator.ts";
import type { RunnerEvent } from "./events.ts";

/** How a run ended. */
export type RunOutcome =
  | { result: "stopped" }
  | { result: "completed" }
  | { result: "failed"; error: ComponentFailedError };

const LOG_TAIL_LINES = 10;

/** Emits the event of `outcome`; a failure carries the last lines of the component's log. */
export async function reportOutcome(
  outcome: RunOutcome,
  options: {
    logFileOf(id: string): string | undefined;
    emit(event: RunnerEvent): void;
    /** A second signal skipped the grace periods. */
    forced?: boolean;
  },
): Promise<void> {
  if (outcome.result === "failed") {
    const { error } = outcome;
    const logFile = options.logFileOf(error.component);
    error.logTail = logFile ? await readLogTail(logFile, LOG_TAIL_LINES) : [];
    options.emit({
      type: "pipeline_failed",
      component: error.component,
      reason: error.message,
      ...(logFile ? { logFile } : {}),
      logTail: error.logTail,
    });
  } else if (outcome.result === "completed") {
    options.emit({ type: "pipeline_completed" });
  } else {
    options.emit({ type: "pipeline_stopped", ...(options.forced && { forced: true }) });
  }
}
