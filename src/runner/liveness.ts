/**
 * A ready component's health while it runs: healthy ↔ unhealthy as its probe says, and, with
 * `restart_after`, a stop after that many failed probes in a row (liveness), which counts as a
 * failure whatever the exit code.
 */
import type { ComponentHandle, ExitStatus } from "../orchestrator/orchestrator.ts";
import { type Readiness, watchHealth } from "./readiness.ts";

/** What the liveness watch needs of the supervisor. */
export interface LivenessHost {
  readonly readiness: Readiness;
  /** Aborted when the component is stopped for good. */
  readonly stopping: AbortSignal;
  /** Whether a liveness stop may act on `handle`: still the current start, no request pending. */
  mayStop(handle: ComponentHandle): boolean;
  /** Whether a failure now would be restarted. */
  wouldRestart(): boolean;
  setPhase(phase: "healthy" | "unhealthy"): void;
  /** Stops `handle` with the grace period; never rejects. */
  stopHandle(handle: ComponentHandle): Promise<unknown>;
}

export class Liveness {
  /** The current exit was caused by failed liveness probes: a failure whatever its code. */
  killed = false;
  /** That stop, which may clean up after the exit (a container's removal). */
  stopped: Promise<unknown> = Promise.resolve();
  readonly #host: LivenessHost;

  constructor(host: LivenessHost) {
    this.#host = host;
  }

  /** Monitors health (of a component that became ready, with a probe) until it exits. */
  async watch(handle: ComponentHandle, ready: boolean): Promise<ExitStatus> {
    const monitorStop = new AbortController();
    if (ready) {
      watchHealth(this.#host.readiness, handle, {
        signal: AbortSignal.any([monitorStop.signal, this.#host.stopping]),
        onDead: (failures) => this.#failed(handle, failures),
        onChange: (healthy, reason) => this.#changed(healthy, reason),
      });
    }
    try {
      return await handle.exited;
    } finally {
      monitorStop.abort();
    }
  }

  #changed(healthy: boolean, reason: string | undefined): void {
    if (this.#host.stopping.aborted) return;
    const { component, emit } = this.#host.readiness;
    this.#host.setPhase(healthy ? "healthy" : "unhealthy");
    emit(
      healthy
        ? {
          type: "component_healthy",
          component: component.id,
          afterMs: 0,
          checked: true,
          recovered: true,
        }
        : {
          type: "component_unhealthy",
          component: component.id,
          reason: reason ?? "health check failed",
        },
    );
  }

  /** Stops a component that failed `failures` probes in a row; its exit counts as a failure. */
  #failed(handle: ComponentHandle, failures: number): void {
    if (this.#host.stopping.aborted || !this.#host.mayStop(handle)) return;
    this.killed = true;
    this.#host.readiness.emit({
      type: "component_liveness_failed",
      component: this.#host.readiness.component.id,
      failures,
      restart: this.#host.wouldRestart(),
    });
    this.stopped = this.#host.stopHandle(handle);
  }
}
