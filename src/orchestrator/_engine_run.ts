/** What the engine-backed orchestrators (containers, swarm) share when they open a run. */
import { getLogger } from "@logtape/logtape";
import { DockerApiError, DockerUnavailableError } from "../docker/docker_errors.ts";
import { PreflightError } from "./orchestrator.ts";

const logger = getLogger(["flowctl", "docker"]);

/**
 * Runs `prepare` for `run`; when it fails, removes what it made, and reports an engine failure
 * as a preflight problem (one line), unless `signal` aborted it (Ctrl+C).
 */
export async function prepareRun<T extends AsyncDisposable>(
  run: T,
  prepare: () => Promise<void>,
  signal: AbortSignal,
): Promise<T> {
  try {
    await prepare();
    return run;
  } catch (error) {
    try {
      await run[Symbol.asyncDispose]();
    } catch (cleanup) {
      logger.warn("Cleaning up a run that failed to open failed too: {cleanup}", { cleanup });
    }
    if (signal.aborted) throw error;
    throw asPreflightError(error);
  }
}

/** Engine failures before anything started are preflight problems, printed as one line. */
export function asPreflightError(error: unknown): unknown {
  if (error instanceof DockerApiError || error instanceof DockerUnavailableError) {
    return new PreflightError([error.message], { cause: error });
  }
  return error;
}
