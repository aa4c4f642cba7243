/** Restart backoff: 1 s doubling to 30 s, reset once a component has run for a stable minute. */

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
export const STABLE_RUN_MS = 60_000;

/** Delay before restart number `step` (0-based) of a run of quick crashes. */
export function backoffDelay(step: number): number {
  return Math.min(BACKOFF_BASE_MS * 2 ** step, BACKOFF_MAX_MS);
}

/** The next backoff step: back to 0 after a stable run, else one more. */
export function nextBackoffStep(step: number, ranForMs: number): number {
  return ranForMs >= STABLE_RUN_MS ? 0 : step + 1;
}
