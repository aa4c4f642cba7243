/**
 * Waits for a component to pass its health check at startup: probing at once, then after pauses
 * that double from 2 ms up to the check's start interval, so a quick start is seen within
 * milliseconds and a slow or broken one is probed at the cadence the file asks for.
 */
import { delay } from "../delay.ts";
import type { ProbeResult } from "./probe.ts";

/** The first pause between startup probes; each next pause doubles, up to `maxPauseMs`. */
const FIRST_PAUSE_MS = 2;

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
    /** The longest pause between probes (`start_interval`, else `interval`). */
    maxPauseMs: number;
    /** The shortest pause between probes (costly probes, such as commands, probe less often). */
    minPauseMs?: number;
  },
): Promise<WaitOutcome> {
  const deadline = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  let lastReason: string | undefined;
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 0;; attempt++) {
    const result = await probe(deadline);
    if (result.ok) return { status: "healthy", probes: attempt + 1 };
    if (result.reason !== undefined) options.onFailedProbe?.(result.reason);
    // A probe cut short by the deadline says only "timed out"; the last complete one says why.
    if (!deadline.aborted || lastReason === undefined) lastReason = result.reason;
    if (options.signal.aborted) return { status: "aborted" };
    if (deadline.aborted) return { status: "timeout", lastReason };
    const wait = Math.max(Math.min(pause, options.maxPauseMs), options.minPauseMs ?? 0);
    await delay(wait, { signal: deadline });
    pause *= 2;
    if (options.signal.aborted) return { status: "aborted" };
    if (deadline.aborted) return { status: "timeout", lastReason };
  }
}
