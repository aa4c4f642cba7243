/**
 * Requests of `flowctl restart|stop|start` to one supervised component: served one at a time,
 * refused while it cannot act on them, and answered once they took effect.
 */
import { type Component, formatDuration } from "../config/mod.ts";
import { delay } from "../delay.ts";
import { type ComponentHandle, describeExit } from "../orchestrator/orchestrator.ts";
import type { ComponentPhase, RunnerEvent } from "./events.ts";
import type { ReadyOutcome } from "./readiness.ts";

/** The answer to a request of `flowctl restart|stop|start`. */
export type RequestResult = { ok: true; note?: string } | { ok: false; reason: string };

/** A stop or restart asked for while the component runs (or waits out its backoff). */
export interface PendingRequest {
  kind: "stop" | "restart";
  done: PromiseWithResolvers<RequestResult>;
  /** The handle's stop, which may clean up after the exit (a container's removal). */
  stopped?: Promise<unknown>;
}

/** A start request's answer, handed to the loop that starts the component. */
type StartAnswer = PromiseWithResolvers<RequestResult>;

/** What requests need of the supervised component. */
export interface RequestTarget {
  readonly componentId: string;
  /** Aborted when the pipeline or the component stops. */
  readonly stopping: AbortSignal;
  phase(): ComponentPhase;
  /** Stopped on request: `phase()` is "stopped" from then on. */
  markStopped(): void;
  /** Whether it is supervised: from its first readiness until it ended. */
  supervising(): boolean;
  restarts(): number;
  /** Its handle while it runs (not exited, not between starts). */
  running(): ComponentHandle | undefined;
  /** Stops `handle` with the grace period; never rejects. */
  stopHandle(handle: ComponentHandle): Promise<unknown>;
  emit(event: RunnerEvent): void;
}

/** The requests of one component: the one pending, the queue, and the wake-ups they cause. */
export class ControlRequests {
  /** A stop or restart not yet acted upon by the supervision loop. */
  pending: PendingRequest | undefined;
  /** While stopped on request: resolved by a start request (with its answer) or by a stop. */
  #resume: PromiseWithResolvers<StartAnswer | undefined> | undefined;
  /** Cuts a backoff short when a request arrives. */
  #wake = new AbortController();
  /** Requests run one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #target: RequestTarget;

  constructor(target: RequestTarget) {
    this.#target = target;
  }

  /**
   * Stops the component with its grace period and starts it again at once (no backoff, not
   * counted against max_restarts); resolves once it is ready again, or why it is not.
   */
  restart(): Promise<RequestResult> {
    return this.#enqueue(() => {
      this.#announceRestart();
      if (this.#target.phase() === "stopped") return this.#resumeStart();
      return this.#stopRequested("restart");
    });
  }

  /** Stops the component, not as a failure; `forRestart`: the first half of a restart. */
  stop(options: { forRestart?: boolean; because?: string } = {}): Promise<RequestResult> {
    return this.#enqueue(() => {
      if (options.forRestart) this.#announceRestart(options.because);
      return this.#target.phase() === "stopped"
        ? Promise.resolve({ ok: true, note: "it was already stopped" })
        : this.#stopRequested("stop");
    });
  }

  /** Starts a component stopped on request; resolves once it is ready, or why it is not. */
  start(): Promise<RequestResult> {
    return this.#enqueue(() =>
      this.#target.phase() === "stopped"
        ? this.#resumeStart()
        : Promise.resolve({ ok: true, note: "it was already running" })
    );
  }

  /** A stop is done once the component is down; a restart is answered after the next start. */
  settle(request: PendingRequest): PromiseWithResolvers<RequestResult> | undefined {
    if (request.kind === "restart") return request.done;
    this.#target.markStopped();
    request.done.resolve({ ok: true });
    return undefined;
  }

  #announceRestart(because?: string): void {
    this.#target.emit({
      type: "component_restarting",
      component: this.#target.componentId,
      restart: this.#target.restarts(),
      delayMs: 0,
      requested: true,
      ...(because !== undefined ? { because } : {}),
    });
  }

  /** Why requests cannot be served now, if they cannot. */
  #refusal(): string | undefined {
    const id = this.#target.componentId;
    if (this.#target.stopping.aborted) return "the pipeline is stopping";
    if (!this.#target.supervising()) {
      const phase = this.#target.phase();
      return phase === "pending" || phase === "starting"
        ? `component "${id}" is still starting`
        : `component "${id}" has ended (${phase})`;
    }
    return undefined;
  }

  /** Runs `action` after the requests before it, unless requests are refused by then. */
  #enqueue(action: () => Promise<RequestResult>): Promise<RequestResult> {
    const run = this.#queue.then(() => {
      const refusal = this.#refusal();
      return refusal ? { ok: false as const, reason: refusal } : action();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  #stopRequested(kind: "stop" | "restart"): Promise<RequestResult> {
    const request: PendingRequest = { kind, done: Promise.withResolvers() };
    this.pending = request;
    const handle = this.#target.running();
    if (handle) request.stopped = this.#target.stopHandle(handle);
    // Waiting out a backoff: act now. (While launching, the loop acts once launched.)
    else this.#wake.abort();
    return request.done.promise;
  }

  /** Takes the pending request, if any, for the loop to act on. */
  take(): PendingRequest | undefined {
    const request = this.pending;
    this.pending = undefined;
    return request;
  }

  /**
   * Waits out the backoff before a restart (`ms`), cut short by `stop` or a request; takes and
   * returns the request that came meanwhile, or just before.
   */
  async duringBackoff(ms: number, stop: AbortSignal): Promise<PendingRequest | undefined> {
    this.#wake = new AbortController();
    // A request that came in while the exit was being handled ends the backoff before it starts.
    if (!this.pending) await delay(ms, { signal: AbortSignal.any([stop, this.#wake.signal]) });
    return this.take();
  }

  /**
   * Waits, stopped on request, for a start request (resolving to its answer) or for one of
   * `stops` (resolving to undefined).
   */
  async waitForStart(stops: AbortSignal[]): Promise<StartAnswer | undefined> {
    const resume = Promise.withResolvers<StartAnswer | undefined>();
    this.#resume = resume;
    const onStop = () => resume.resolve(undefined);
    for (const stop of stops) stop.addEventListener("abort", onStop, { once: true });
    try {
      return await resume.promise;
    } finally {
      this.#resume = undefined;
      for (const stop of stops) stop.removeEventListener("abort", onStop);
    }
  }

  /** Has a component waiting in waitForStart start; resolves once it is ready, or why not. */
  #resumeStart(): Promise<RequestResult> {
    const done = Promise.withResolvers<RequestResult>();
    const resume = this.#resume;
    if (!resume) return Promise.resolve({ ok: false, reason: "the pipeline is stopping" });
    resume.resolve(done);
    return done.promise;
  }
}

/** The answer to a start or restart request, from how the component's startup went. */
export function describeOutcome(component: Component, outcome: ReadyOutcome): RequestResult {
  const id = component.id;
  switch (outcome.kind) {
    case "ready":
      return { ok: true };
    case "aborted":
      return { ok: false, reason: "the pipeline is stopping" };
    case "exited":
      return { ok: false, reason: `component "${id}" ${describeExit(outcome.exit)} at startup` };
    case "timeout":
      return {
        ok: false,
        reason: `component "${id}" did not pass its health check within ${
          formatDuration(component.health?.startPeriodMs ?? 0)
        }${outcome.reason ? ` (last probe: ${outcome.reason})` : ""}`,
      };
  }
}
