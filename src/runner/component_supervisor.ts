/**
 * One component's life in a run, as one loop: start → ready or exit → supervise → exit →
 * backoff → start. The pipeline runner owns the order between components; this owns the rest.
 */
import { getLogger } from "@logtape/logtape";
import type { Component } from "../config/mod.ts";
import type { LogFile } from "../logs/log_file.ts";
import type { ComponentHandle, ExitStatus, OrchestratorRun } from "../orchestrator/orchestrator.ts";
import { backoffDelay, nextBackoffStep } from "./backoff.ts";
import { ComponentInstance } from "./component_instance.ts";
import { ControlRequests, describeOutcome, type RequestResult } from "./control_requests.ts";
import type { ComponentPhase, ComponentSnapshot, RunnerEvent } from "./events.ts";
import { Liveness } from "./liveness.ts";
import {
  asComponentFailure,
  decideAfterExit,
  exitedAtStartup,
  isClean,
  isFailure,
  notHealthyAfterRestart,
  notHealthyInTime,
  type SupervisorEnd,
} from "./exit_policy.ts";
import {
  type Readiness,
  type ReadyOutcome,
  type RegistrationWatcher,
  waitReady,
} from "./readiness.ts";

const logger = getLogger(["flowctl", "runner"]);

export interface SupervisorOptions {
  run: OrchestratorRun;
  log: LogFile;
  /** Aborted to request a graceful stop of the whole pipeline. */
  stop: AbortSignal;
  onEvent(event: RunnerEvent): void;
  /** Whole lines of the component's output, after they went to its log file. */
  onOutput?(componentId: string, lines: Uint8Array): void;
  registrations?: RegistrationWatcher;
  /** Called whenever the component's pid or container changes, for the state file. */
  onHandleChanged?(): void;
  /**
   * A dependent waits for this component to complete (`completed_successfully`): an exit with
   * code 0 during startup is its completion, not a startup failure.
   */
  oneShot?: boolean;
}

/** Starts, watches, restarts and stops one component. */
export class ComponentSupervisor implements AsyncDisposable {
  readonly component: Component;
  readonly #options: SupervisorOptions;
  readonly #readiness: Readiness;
  readonly #ended = Promise.withResolvers<SupervisorEnd>();
  readonly #spawned = Promise.withResolvers<void>();
  readonly #completed = Promise.withResolvers<void>();
  /** Aborted by stop(): the loop ends and no restart happens. */
  readonly #stopping = new AbortController();
  /** `flowctl restart|stop|start` of this component. */
  readonly requests: ControlRequests;
  #phase: ComponentPhase = "pending";
  /** The current start, from the first launch on. */
  #instance: ComponentInstance | undefined;
  #restarts = 0;
  #backoffStep = -1;
  #lastExit: ExitStatus | undefined;
  #stopped: Promise<void> | undefined;
  /** Set once supervision runs (after the first readiness) until the component ended. */
  #supervising = false;
  readonly #liveness: Liveness;

  constructor(component: Component, options: SupervisorOptions) {
    this.component = component;
    this.#options = options;
    this.#readiness = {
      component,
      run: options.run,
      registrations: options.registrations,
      emit: (event) => this.#emit(event),
    };
    this.#liveness = new Liveness({
      readiness: this.#readiness,
      stopping: this.#stopping.signal,
      mayStop: (handle) => !this.requests.pending && this.#instance?.handle === handle,
      wouldRestart: () => component.restart !== "no" && this.#restarts < component.maxRestarts,
      setPhase: (phase) => this.#phase = phase,
      stopHandle: (handle) => this.#stopHandle(handle, "unhealthy"),
    });
    this.requests = new ControlRequests({
      componentId: component.id,
      stopping: AbortSignal.any([this.#stopping.signal, options.stop]),
      phase: () => this.#phase,
      markStopped: () => this.#phase = "stopped",
      supervising: () => this.#supervising,
      restarts: () => this.#restarts,
      running: () => this.#instance?.exited === false ? this.#instance.handle : undefined,
      stopHandle: (handle) => this.#stopHandle(handle, "on request"),
      emit: (event) => this.#emit(event),
    });
    // Only dependents with completed_successfully wait for it.
    this.#completed.promise.catch(() => {});
  }

  /** Resolves once the component was spawned the first time (`depends_on` condition `started`). */
  get spawned(): Promise<void> {
    return this.#spawned.promise;
  }

  /**
   * Resolves at the component's first exit with code 0 (`completed_successfully`); rejects with
   * its failure when it ends failed first.
   */
  get completed(): Promise<void> {
    return this.#completed.promise;
  }

  #end(end: SupervisorEnd): void {
    if (end.kind === "failed") this.#completed.reject(end.error);
    this.#ended.resolve(end);
  }

  /** Settles when the component ended on its own for good: finished, or failed. */
  get ended(): Promise<SupervisorEnd> {
    return this.#ended.promise;
  }

  get phase(): ComponentPhase {
    return this.#phase;
  }

  /**
   * Starts the component and resolves once it is ready (or `signal` aborted); supervision then
   * goes on in the background.
   * @throws {ComponentFailedError} when it cannot start, exits, or is not healthy in time.
   */
  async start(signal: AbortSignal): Promise<void> {
    const handle = await this.#launch();
    const outcome = await waitReady(
      this.#readiness,
      handle,
      AbortSignal.any([signal, this.#stopping.signal]),
    );
    switch (outcome.kind) {
      case "exited":
        if (this.#options.oneShot && isClean(outcome.exit)) {
          await this.#completeDuringStartup(outcome.exit);
          return;
        }
        this.#phase = "failed";
        throw exitedAtStartup(this.component, outcome.exit);
      case "timeout":
        this.#phase = "failed";
        throw notHealthyInTime(this.component, outcome.reason);
      case "aborted":
        return;
      case "ready":
        this.#becameReady(handle);
        this.#supervising = true;
        this.#supervise(handle)
          .catch((error) =>
            this.#end({ kind: "failed", error: asComponentFailure(this.component, error) })
          )
          .finally(() => {
            this.#supervising = false;
            // A request that came in as the component ended for good gets an answer too.
            this.requests.take()?.done.resolve({
              ok: false,
              reason: `component "${this.component.id}" has ended (${this.#phase})`,
            });
          });
    }
  }

  /**
   * Watches a ready component until it exits, then restarts it per its policy (or as requested),
   * in a loop.
   */
  async #supervise(first: ComponentHandle): Promise<void> {
    let handle = first;
    let ready = true;
    while (true) {
      const exit = await this.#liveness.watch(handle, ready);
      if (this.#stopping.signal.aborted) return;
      let requested: PromiseWithResolvers<RequestResult> | undefined;
      const request = this.requests.take();
      if (request) {
        await request.stopped;
        await this.#recordRequestedExit(exit);
        requested = this.requests.settle(request);
      } else {
        const end = await this.#afterExit(exit);
        if (end) return this.#end(end);
        requested = await this.#backoff();
      }
      if (this.#phase === "stopped") {
        requested = await this.requests.waitForStart([
          this.#stopping.signal,
          this.#options.stop,
        ]);
      }
      if (this.#stopping.signal.aborted || this.#options.stop.aborted) {
        requested?.resolve({ ok: false, reason: "the pipeline is stopping" });
        return;
      }
      try {
        handle = await this.#launch();
      } catch (error) {
        requested?.resolve({ ok: false, reason: (error as Error).message });
        throw error;
      }
      if (this.#stopping.signal.aborted) return; // stop() stops the handle just launched
      // A request that arrived while launching: act on the new handle now.
      const arrived = this.requests.pending;
      if (arrived && !arrived.stopped) arrived.stopped = this.#stopHandle(handle, "on request");
      const outcome = await waitReady(this.#readiness, handle, this.#stopping.signal);
      requested?.resolve(describeOutcome(this.component, outcome));
      ready = outcome.kind === "ready";
      if (ready) this.#becameReady(handle);
      else if (outcome.kind === "timeout") this.#unhealthyAfterRestart(outcome);
    }
  }

  /**
   * Waits out the backoff before a restart, cut short by a request; returns the answer of a
   * restart request to give once the component is up again.
   */
  async #backoff(): Promise<PromiseWithResolvers<RequestResult> | undefined> {
    const delayMs = backoffDelay(this.#backoffStep);
    const during = await this.requests.duringBackoff(delayMs, this.#options.stop);
    if (during?.kind === "stop" && this.#lastExit) {
      // Nothing runs: say that it stays down (and let the state file know).
      this.#emitStopped(this.#lastExit);
    }
    return during ? this.requests.settle(during) : undefined;
  }

  #unhealthyAfterRestart(outcome: ReadyOutcome & { kind: "timeout" }): void {
    this.#phase = "unhealthy";
    const reason = notHealthyAfterRestart(this.component, outcome.reason);
    this.#emit({ type: "component_unhealthy", component: this.component.id, reason });
  }

  async #recordRequestedExit(exit: ExitStatus): Promise<void> {
    this.#liveness.killed = false;
    await this.#instance?.drained();
    this.#lastExit = exit;
    this.#emitStopped(exit);
  }

  #emitStopped(exit: ExitStatus): void {
    const { id, stopGraceMs } = this.component;
    this.#emit({ type: "component_stopped", component: id, exit, graceMs: stopGraceMs });
  }

  /** Stops `handle` with the grace period, for a request or liveness; never rejects. */
  #stopHandle(handle: ComponentHandle, why: "on request" | "unhealthy"): Promise<unknown> {
    this.#phase = "stopping";
    this.#emit({ type: "component_stopping", component: this.component.id });
    return handle.stop({ graceMs: this.component.stopGraceMs }).catch((error) =>
      logger.warn("Stopping {component} ({why}) failed: {error}", {
        component: this.component.id,
        why,
        error,
      })
    );
  }

  /** A one-shot that exited 0 before it was ready has completed: it ends finished, not failed. */
  async #completeDuringStartup(exit: ExitStatus): Promise<void> {
    this.#recordExit(exit);
    await this.#instance?.drained();
    this.#completed.resolve();
    this.#end({ kind: "finished" });
  }

  #recordExit(exit: ExitStatus): void {
    this.#lastExit = exit;
    this.#phase = "exited";
    this.#emit({ type: "component_exited", component: this.component.id, exit });
  }

  /** Records an exit and decides what follows: nothing more (an end), or a restart after backoff. */
  async #afterExit(exit: ExitStatus): Promise<SupervisorEnd | undefined> {
    const { component } = this;
    this.#recordExit(exit);
    await Promise.all([this.#instance?.drained(), this.#liveness.stopped]);
    const facts = { exit, livenessKill: this.#liveness.killed, restarts: this.#restarts };
    if (!isFailure(facts)) this.#completed.resolve();
    this.#liveness.killed = false;
    const decision = decideAfterExit(component, facts);
    if (decision.kind === "failed") this.#phase = "failed";
    if (decision.kind !== "restart") return decision;
    const ranMs = Date.now() - (this.#instance?.startedAt ?? 0);
    this.#backoffStep = nextBackoffStep(this.#backoffStep, ranMs);
    this.#restarts++;
    this.#phase = "restarting";
    this.#emit({
      type: "component_restarting",
      component: component.id,
      restart: this.#restarts,
      delayMs: backoffDelay(this.#backoffStep),
    });
    return undefined;
  }

  /** Starts the component once and begins copying its output to its log file and the console. */
  async #launch(): Promise<ComponentHandle> {
    const { component } = this;
    this.#phase = "starting";
    this.#emit({
      type: "component_starting",
      component: component.id,
      attempt: this.#restarts + 1,
    });
    const handle = await this.#options.run.start(component.id);
    const instance = new ComponentInstance(component.id, handle, (lines) => {
      this.#options.log.write(lines);
      this.#options.onOutput?.(component.id, lines);
    });
    this.#instance = instance;
    this.#spawned.resolve();
    this.#emit(instance.startedEvent());
    this.#options.onHandleChanged?.();
    return handle;
  }

  #becameReady(handle: ComponentHandle): void {
    const instance = this.#instance;
    if (instance?.handle !== handle || this.#stopping.signal.aborted) return;
    const checked = this.component.health !== undefined;
    this.#phase = checked ? "healthy" : "running";
    this.#emit({
      type: "component_healthy",
      component: this.component.id,
      afterMs: Date.now() - instance.startedAt,
      checked,
    });
  }

  /**
   * Stops the component for good: no restart follows. Emits stopping/stopped unless it had
   * already exited. Idempotent.
   */
  stop(options: { force: AbortSignal }): Promise<void> {
    this.#stopped ??= this.#stop(options.force);
    return this.#stopped;
  }

  async #stop(force: AbortSignal): Promise<void> {
    this.#stopping.abort();
    this.requests.take()?.done.resolve({ ok: false, reason: "the pipeline is stopping" });
    const instance = this.#instance;
    if (!instance) return;
    const { component } = this;
    const alreadyExited = instance.exited;
    if (!alreadyExited) {
      this.#phase = "stopping";
      this.#emit({ type: "component_stopping", component: component.id });
    }
    const exit = await instance.handle.stop({ graceMs: component.stopGraceMs, force });
    await instance.drained();
    if (!alreadyExited) this.#emitStopped(exit);
    this.#phase = "stopped";
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const forced = new AbortController();
    forced.abort();
    await this.stop({ force: forced.signal });
  }

  /** What `flowctl status` shows of this component. */
  snapshot(): ComponentSnapshot {
    const instance = this.#instance;
    return {
      id: this.component.id,
      kind: this.component.kind,
      phase: this.#phase,
      ...instance?.snapshot(),
      restarts: this.#restarts,
      ...(instance ? { startedAt: instance.startedAt } : {}),
      ...(this.#lastExit ? { lastExit: this.#lastExit } : {}),
      logFile: this.#options.log.path,
    };
  }

  #emit(event: RunnerEvent): void {
    this.#options.onEvent(event);
  }
}
