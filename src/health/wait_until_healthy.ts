/** Waits for a component to pass its health check at startup, probing at once and then often. */
import { delay } from "../delay.ts";
import type { ProbeResult } from "./probe.ts";

/** Pauses between startup probes: short at first so readiness is seen within ~25 ms. */
const STARTUP_PAUSES_MS = [2, 4, 8, 16, 20];

export type WaitOutcome =
  | { status: "healthy"; probes: number }
  | { status: "timeout"; lastReason: string | undefined }
  | { status: "aborted" };

/**
 * Runs `probe` until it passes, `timeoutMs` passes, or `signal` aborts.
 */
export async function waitUntilHealthy(
  probe: (signal: AbortSignal) => Promise<ProbeResult>,
  options: {
    timeoutMs: number;
    signal: AbortSignal;
    /** Told why each probe that did not pass failed. */
    onFailedProbe?: (reason: string) => void;
    /** The shortest pause between probes (costly probes, such as commands, probe less often). */
    minPauseMs?: number;
  },
): Promise<WaitOutcome> {
  const deadline = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  let lastReason: string | undefined;
  for (let attempt = 0;; attempt++) {
    const result = await probe(deadline);
    if (result.ok) return { status: "healthy", probes: attempt + 1 };
    if (result.reason !== undefined) options.onFailedProbe?.(result.reason);
    // A probe cut short by the deadline says only "timed out"; the last complete one says why.
    if (!deadline.aborted || lastReason === undefined) lastReason = result.reason;
    if (options.signal.aborted) return { status: "aborted" };
    if (deadline.aborted) return { status: "timeout", lastReason };
    const pause = STARTUP_PAUSES_MS[Math.min(attempt, STARTUP_PAUSES_MS.length - 1)] ?? 20;
    await delay(Math.max(pause, options.minPauseMs ?? 0), { signal: deadline });
    if (options.signal.aborted) return { status: "aborted" };
    if (deadline.aborted) return { status: "timeout", lastReason };
  }
}
