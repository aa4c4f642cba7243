/** Riding out an engine that restarts: retries while it is away or not ready yet. */
import { getLogger } from "@logtape/logtape";
import { delay } from "../../delay.ts";
import { DockerApiError, DockerUnavailableError } from "../../docker/docker_errors.ts";
import { ComponentFailedError } from "../orchestrator.ts";

const logger = getLogger(["flowctl", "docker"]);

/** How long flowctl waits for an engine that went away (restarted) before giving up on it. */
export const ENGINE_RETURN_MS = 60_000;

/**
 * Runs `operation`, retrying while the engine is away (restarting: up to ENGINE_RETURN_MS) or
 * answers with a server error (5xx: for a few seconds, as a restarted engine answers before its
 * network store is ready).
 */
export async function retryEngine<T>(operation: (attempt: number) => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let attempt = 0;; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const cause = error instanceof ComponentFailedError ? error.cause : error;
      const away = cause instanceof DockerUnavailableError &&
        Date.now() - started < ENGINE_RETURN_MS;
      const serverError = cause instanceof DockerApiError && cause.status >= 500 &&
        Date.now() - started < 15_000;
      if (!away && !serverError) throw error;
      logger.debug("Engine not ready, retrying: {error}", { error });
      await delay(Math.min(250 * 2 ** attempt, 2_000));
    }
  }
}
