/** Periodic health monitoring of a running component, reporting healthy ↔ unhealthy changes. */
import { delay } from "../delay.ts";
import type { ProbeResult } from "./probe.ts";

export interface MonitorOptions {
  intervalMs: number;
  /** Consecutive failures before the component counts as unhealthy. */
  retries: number;
  signal: AbortSignal;
  onChange(healthy: boolean, reason: string | undefined): void;
  /**
   * Liveness: after this many consecutive failures `onDead` is called once and monitoring ends.
   */
  restartAfter?: number;
  onDead?(failures: number, reason: string | undefined): void;
}

/**
 * Probes every `intervalMs` until `signal` aborts. Starts from healthy (the component passed
 * its startup check); `retries` failures in a row make it unhealthy, one success healthy again.
 */
export async function monitorHealth(
  probe: (signal: AbortSignal) => Promise<ProbeResult>,
  options: MonitorOptions,
): Promise<void> {
  let healthy = true;
  let failures = 0;
  while (!options.signal.aborted) {
    await delay(options.intervalMs, { signal: options.signal });
    if (options.signal.aborted) return;
    const result = await probe(options.signal);
    if (options.signal.aborted) return;
    if (result.ok) {
      failures = 0;
      if (!healthy) {
        healthy = true;
        options.onChange(true, undefined);
      }
      continue;
    }
    failures++;
    if (failures >= options.retries && healthy) {
      healthy = false;
      options.onChange(false, result.reason);
    }
    if (options.restartAfter !== undefined && failures >= options.restartAfter) {
      options.onDead?.(failures, result.reason);
      return;
    }
  }
}
