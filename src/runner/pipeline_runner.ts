/**
 * Runs a pipeline: starts components level by level behind their health checks, supervises
 * them (health monitoring, restarts with backoff, completion), and stops everything in reverse
 * order on every path out.
 */
import { getLogger } from "@logtape/logtape";
import type { Component, Pipeline } from "../config/mod.ts";
import { delay } from "../delay.ts";
import { monitorHealth } from "../health/health_monitor.ts";
import { probeHttp, type ProbeResult, probeTcp } from "../health/probe.ts";
import { waitUntilHealthy } from "../health/wait_until_healthy.ts";
import { LineBuffer } from "../logs/line_buffer.ts";
import { LogFile } from "../logs/log_file.ts";
import { readLogTail } from "../logs/log_tail.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  describeExit,
  type ExitStatus,
  HealthTimeoutError,
  type Orchestrator,
} from "../orchestrator/orchestrator.ts";
import { backoffDelay, nextBackoffStep } from "./backoff.ts";
import type { RunnerEvent } from "./events.ts";

const logger = getLogger(["flowctl", "runner"]);
const LOG_TAIL_LINES = 10;

/** Tells when a component has registered with the control plane (`health: { registered: true }`). */
export interface RegistrationWatcher {
  waitUntilRegistered(componentId: string, signal: AbortSignal): Promise<void>;
}

export interface RunnerOptions {
  orchestrator: Orchestrator;
  logDir: string;
  /** The environment of one component (DESIGN §4). */
  envFor(component: Component): Record<string, string>;
  /** Aborted to request a graceful stop. */
  stop: AbortSignal;
  /** Aborted to skip the remaining grace periods (a second Ctrl+C). */
  force: AbortSignal;
  onEvent(event: RunnerEvent): void;
  /** Whole lines of a component's output, after they went to its log file. */
  onOutput?(componentId: string, lines: Uint8Array): void;
  registrations?: RegistrationWatcher;
  /** Called whenever a component's pid or container changes, for the state file. */
  onHandlesChanged?(): void;
}

export type RunOutcome =
  | { result: "stopped" }
  | { result: "completed" }
  | { result: "failed"; error: ComponentFailedError };

export type ComponentPhase =
  | "pending"
  | "starting"
  | "healthy"
  | "unhealthy"
  | "running"
  | "restarting"
  | "exited"
  | "stopping"
  | "stopped"
  | "failed";

/** What `flowctl status` shows of one component. */
export interface ComponentSnapshot {
  id: string;
  kind: string;
  phase: ComponentPhase;
  pid?: number;
  pidStartTime?: number;
  containerId?: string;
  restarts: number;
  startedAt?: number;
  lastExit?: ExitStatus;
  logFile?: string;
}

interface ComponentState {
  component: Component;
  phase: ComponentPhase;
  handle?: ComponentHandle;
  log?: LogFile;
  pumps: Promise<void>[];
  restarts: number;
  backoffStep: number;
  startedAt?: number;
  lastExit?: ExitStatus;
  /** Exited 0 and will not be restarted. */
  finished: boolean;
}

export class PipelineRunner {
  readonly pipeline: Pipeline;
  readonly #options: RunnerOptions;
  readonly #states: Map<string, ComponentState>;
  readonly #failure = Promise.withResolvers<ComponentFailedError>();
  readonly #completion = Promise.withResolvers<void>();
  /** Handles whose component has exited, known synchronously. */
  readonly #exited = new WeakSet<ComponentHandle>();
  #stopping = false;

  constructor(pipeline: Pipeline, options: RunnerOptions) {
    this.pipeline = pipeline;
    this.#options = options;
    this.#states = new Map(pipeline.components.map((component) => [component.id, {
      component,
      phase: "pending",
      pumps: [],
      restarts: 0,
      backoffStep: -1,
      finished: false,
    }]));
  }

  /** The current state of every component, in start order. */
  snapshot(): ComponentSnapshot[] {
    return [...this.#states.values()].map((s) => ({
      id: s.component.id,
      kind: s.component.kind,
      phase: s.phase,
      ...(s.handle?.pid !== undefined ? { pid: s.handle.pid } : {}),
      ...(s.handle?.pidStartTime !== undefined ? { pidStartTime: s.handle.pidStartTime } : {}),
      ...(s.handle?.containerId !== undefined ? { containerId: s.handle.containerId } : {}),
      restarts: s.restarts,
      ...(s.startedAt !== undefined ? { startedAt: s.startedAt } : {}),
      ...(s.lastExit ? { lastExit: s.lastExit } : {}),
      ...(s.log ? { logFile: s.log.path } : {}),
    }));
  }

  /** Runs until a stop is requested, a component fails, or every sink has completed. */
  async run(): Promise<RunOutcome> {
    const started = performance.now();
    const { stop } = this.#options;
    let outcome: RunOutcome = { result: "stopped" };
    try {
      for (const state of this.#states.values()) {
        state.log = await LogFile.open(this.#options.logDir, state.component.id);
      }
      await this.#options.orchestrator.prepare?.(
        this.pipeline.components.map((component) => ({
          component,
          options: { env: this.#options.envFor(component) },
        })),
      );
      const startupFailure = await this.#startAll();
      if (startupFailure) {
        outcome = { result: "failed", error: startupFailure };
      } else if (!stop.aborted) {
        this.#emit({ type: "pipeline_started", afterMs: Math.round(performance.now() - started) });
        outcome = await this.#waitForEnd();
      }
    } catch (error) {
      if (!(error instanceof ComponentFailedError)) throw error;
      outcome = { result: "failed", error };
    } finally {
      const reason = outcome.result === "failed"
        ? "failure"
        : outcome.result === "completed"
        ? "completed"
        : "signal";
      await this.#shutdown(reason);
    }
    if (outcome.result === "failed") {
      const { error } = outcome;
      const log = this.#states.get(error.component)?.log;
      error.logTail = log ? await readLogTail(log.path, LOG_TAIL_LINES) : [];
      this.#emit({
        type: "pipeline_failed",
        component: error.component,
        reason: error.message,
        ...(log ? { logFile: log.path } : {}),
        logTail: error.logTail,
      });
    } else if (outcome.result === "completed") {
      this.#emit({ type: "pipeline_completed" });
    } else {
      this.#emit({ type: "pipeline_stopped" });
    }
    return outcome;
  }

  /** Starts level after level; returns the first failure, if any. */
  async #startAll(): Promise<ComponentFailedError | undefined> {
    for (const level of this.pipeline.levels) {
      if (this.#options.stop.aborted) return undefined;
      const levelAbort = new AbortController();
      const signal = AbortSignal.any([this.#options.stop, levelAbort.signal]);
      const results = await Promise.allSettled(level.map(async (id) => {
        try {
          await this.#startAndWait(this.#state(id), signal);
        } catch (error) {
          levelAbort.abort();
          throw error;
        }
      }));
      for (const result of results) {
        if (result.status === "rejected") {
          if (result.reason instanceof ComponentFailedError) return result.reason;
          throw result.reason;
        }
      }
    }
    return undefined;
  }

  /** Starts one component and waits until it is ready (or it fails, or `signal` aborts). */
  async #startAndWait(state: ComponentState, signal: AbortSignal): Promise<void> {
    const handle = await this.#launch(state);
    const { component } = state;
    const began = performance.now();
    const exitedEarly = handle.exited.then((exit) => ({ kind: "exited" as const, exit }));
    const ready = this.#waitReady(component, handle, signal);
    const first = await Promise.race([exitedEarly, ready]);
    if (first.kind === "exited") {
      throw new ComponentFailedError(
        component.id,
        `Component "${component.id}" ${describeExit(first.exit)} during startup`,
        { exit: first.exit },
      );
    }
    if (first.kind === "aborted") return;
    if (first.kind === "timeout") {
      throw new HealthTimeoutError(
        component.id,
        `Component "${component.id}" did not pass its health check within ${
          formatMs(component.health?.startPeriodMs ?? 0)
        }${first.reason ? ` (last probe: ${first.reason})` : ""}`,
      );
    }
    state.phase = component.health ? "healthy" : "running";
    this.#emit({
      type: "component_healthy",
      component: component.id,
      afterMs: Math.round(performance.now() - began),
      checked: component.health !== undefined,
    });
    this.#supervise(state, handle);
  }

  async #waitReady(
    component: Component,
    handle: ComponentHandle,
    signal: AbortSignal,
  ): Promise<
    { kind: "ready" } | { kind: "aborted" } | { kind: "timeout"; reason: string | undefined }
  > {
    const health = component.health;
    if (!health) return { kind: "ready" };
    if (health.probe.type === "registered") {
      const registrations = this.#options.registrations;
      if (!registrations) return { kind: "timeout", reason: "no control plane is running" };
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(health.startPeriodMs)]);
      try {
        await registrations.waitUntilRegistered(component.id, deadline);
        return { kind: "ready" };
      } catch {
        return signal.aborted
          ? { kind: "aborted" }
          : { kind: "timeout", reason: "it never registered with the control plane" };
      }
    }
    const outcome = await waitUntilHealthy(this.#probeFor(component, handle), {
      timeoutMs: health.startPeriodMs,
      signal,
    });
    if (outcome.status === "healthy") return { kind: "ready" };
    if (outcome.status === "aborted") return { kind: "aborted" };
    return { kind: "timeout", reason: outcome.lastReason };
  }

  #probeFor(
    component: Component,
    handle: ComponentHandle,
  ): (signal: AbortSignal) => Promise<ProbeResult> {
    const health = component.health;
    if (!health || health.probe.type === "registered") return () => Promise.resolve({ ok: true });
    const probe = health.probe;
    const address = handle.probeAddress(probe.port);
    return probe.type === "http"
      ? (signal) =>
        probeHttp({ ...address, path: probe.path }, { timeoutMs: health.timeoutMs, signal })
      : (signal) => probeTcp(address, { timeoutMs: health.timeoutMs, signal });
  }

  /** Spawns the component and starts copying its output to its log file and the console. */
  async #launch(state: ComponentState): Promise<ComponentHandle> {
    const { component } = state;
    state.phase = "starting";
    this.#emit({
      type: "component_starting",
      component: component.id,
      attempt: state.restarts + 1,
    });
    const handle = await this.#options.orchestrator.start(component, {
      env: this.#options.envFor(component),
    });
    state.handle = handle;
    state.startedAt = Date.now();
    handle.exited.then(() => this.#exited.add(handle), () => this.#exited.add(handle));
    state.pumps = [this.#pump(state, handle.stdout), this.#pump(state, handle.stderr)];
    this.#emit({
      type: "component_started",
      component: component.id,
      ...(handle.pid !== undefined ? { pid: handle.pid } : {}),
      ...(handle.containerId !== undefined ? { containerId: handle.containerId } : {}),
    });
    this.#options.onHandlesChanged?.();
    return handle;
  }

  async #pump(state: ComponentState, stream: ReadableStream<Uint8Array>): Promise<void> {
    const buffer = new LineBuffer();
    const deliver = (lines: Uint8Array) => {
      if (lines.length === 0) return;
      state.log?.write(lines);
      this.#options.onOutput?.(state.component.id, lines);
    };
    try {
      for await (const chunk of stream) deliver(buffer.push(chunk));
    } catch (error) {
      logger.debug("Output stream of {component} ended: {error}", {
        component: state.component.id,
        error,
      });
    }
    deliver(buffer.flush());
  }

  /** Watches a running component: health transitions, and its exit. */
  #supervise(state: ComponentState, handle: ComponentHandle): void {
    const { component } = state;
    const monitorStop = new AbortController();
    const health = component.health;
    if (health && health.probe.type !== "registered") {
      monitorHealth(this.#probeFor(component, handle), {
        intervalMs: health.intervalMs,
        retries: health.retries,
        signal: AbortSignal.any([monitorStop.signal, this.#options.stop]),
        onChange: (healthy, reason) => {
          if (this.#stopping || state.handle !== handle) return;
          state.phase = healthy ? "healthy" : "unhealthy";
          this.#emit(
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
        },
      });
    }
    handle.exited.then((exit) => {
      monitorStop.abort();
      if (this.#stopping || state.handle !== handle) return;
      return this.#onExit(state, exit);
    }).catch((error) => this.#failure.resolve(asComponentFailure(component.id, error)));
  }

  async #onExit(state: ComponentState, exit: ExitStatus): Promise<void> {
    const { component } = state;
    state.lastExit = exit;
    state.phase = "exited";
    this.#emit({ type: "component_exited", component: component.id, exit });
    await Promise.all(state.pumps);
    const failed = exit.code !== 0 || exit.signal !== null;
    const restart = component.restart === "always" ||
      (component.restart === "on-failure" && failed);
    if (!restart) {
      if (failed) {
        state.phase = "failed";
        this.#failure.resolve(
          new ComponentFailedError(
            component.id,
            `Component "${component.id}" ${describeExit(exit)}`,
            { exit },
          ),
        );
        return;
      }
      state.finished = true;
      // Complete when every sink is done; a pipeline without sinks, when everything is done.
      const states = [...this.#states.values()];
      const sinks = states.filter((s) => s.component.kind === "sink");
      if ((sinks.length > 0 ? sinks : states).every((s) => s.finished)) this.#completion.resolve();
      return;
    }
    if (state.restarts >= component.maxRestarts) {
      state.phase = "failed";
      this.#failure.resolve(
        new ComponentFailedError(
          component.id,
          `Component "${component.id}" ${
            describeExit(exit)
          } and was restarted ${state.restarts} times already (max_restarts: ${component.maxRestarts})`,
          { exit },
        ),
      );
      return;
    }
    state.backoffStep = nextBackoffStep(state.backoffStep, Date.now() - (state.startedAt ?? 0));
    const delayMs = backoffDelay(state.backoffStep);
    state.restarts++;
    state.phase = "restarting";
    this.#emit({
      type: "component_restarting",
      component: component.id,
      restart: state.restarts,
      delayMs,
    });
    await delay(delayMs, this.#options.stop);
    if (this.#stopping || this.#options.stop.aborted) return;
    const handle = await this.#launch(state);
    if (this.#stopping) return; // shutdown stops state.handle, which is this one
    this.#supervise(state, handle);
    const ready = await this.#waitReady(component, handle, this.#options.stop);
    if (ready.kind === "ready" && state.handle === handle && !this.#stopping) {
      state.phase = component.health ? "healthy" : "running";
      this.#emit({
        type: "component_healthy",
        component: component.id,
        afterMs: Date.now() - (state.startedAt ?? 0),
        checked: component.health !== undefined,
      });
    }
  }

  async #waitForEnd(): Promise<RunOutcome> {
    const stopped = Promise.withResolvers<void>();
    const onStop = () => stopped.resolve();
    this.#options.stop.addEventListener("abort", onStop, { once: true });
    try {
      if (this.#options.stop.aborted) return { result: "stopped" };
      return await Promise.race([
        stopped.promise.then(() => ({ result: "stopped" as const })),
        this.#failure.promise.then((error) => ({ result: "failed" as const, error })),
        this.#completion.promise.then(() => ({ result: "completed" as const })),
      ]);
    } finally {
      this.#options.stop.removeEventListener("abort", onStop);
    }
  }

  /** Stops every started component in reverse dependency order, one level at a time. */
  async #shutdown(reason: "signal" | "failure" | "completed"): Promise<void> {
    this.#stopping = true;
    this.#emit({ type: "pipeline_stopping", reason });
    const errors: unknown[] = [];
    for (const level of [...this.pipeline.levels].reverse()) {
      const results = await Promise.allSettled(
        level.map((id) => this.#stopComponent(this.#state(id))),
      );
      for (const result of results) if (result.status === "rejected") errors.push(result.reason);
    }
    await Promise.all([...this.#states.values()].map((s) => s.log?.close()));
    this.#options.onHandlesChanged?.();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(errors, `${errors.length} components failed to stop`);
    }
  }

  async #stopComponent(state: ComponentState): Promise<void> {
    const handle = state.handle;
    if (!handle) return;
    const { component } = state;
    const alreadyExited = this.#exited.has(handle);
    if (!alreadyExited) {
      state.phase = "stopping";
      this.#emit({ type: "component_stopping", component: component.id });
    }
    const exit = await handle.stop({ graceMs: component.stopGraceMs, force: this.#options.force });
    await Promise.all(state.pumps);
    if (!alreadyExited) this.#emit({ type: "component_stopped", component: component.id, exit });
    state.phase = "stopped";
  }

  #state(id: string): ComponentState {
    const state = this.#states.get(id);
    if (!state) throw new RangeError(`no component "${id}" in pipeline "${this.pipeline.name}"`);
    return state;
  }

  #emit(event: RunnerEvent): void {
    this.#options.onEvent(event);
  }
}

function asComponentFailure(component: string, error: unknown): ComponentFailedError {
  return error instanceof ComponentFailedError ? error : new ComponentFailedError(
    component,
    `Component "${component}" failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
