/**
 * One component's life in a run, as one loop: start → ready or exit → supervise → exit →
 * backoff → start. The pipeline runner owns the order between components; this owns the rest.
 */
import { getLogger } from "@logtape/logtape";
import { clip, type Component, formatDuration } from "../config/mod.ts";
import { delay } from "../delay.ts";
import { monitorHealth } from "../health/health_monitor.ts";
import { probeHttp, type ProbeResult, probeTcp } from "../health/probe.ts";
import { waitUntilHealthy } from "../health/wait_until_healthy.ts";
import { ownedProbe } from "../health/owned_probe.ts";
import { LineBuffer } from "../logs/line_buffer.ts";
import type { LogFile } from "../logs/log_file.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  describeExit,
  type ExitStatus,
  HealthTimeoutError,
  type OrchestratorRun,
} from "../orchestrator/orchestrator.ts";
import { backoffDelay, nextBackoffStep } from "./backoff.ts";
import type { ComponentPhase, ComponentSnapshot, RunnerEvent } from "./events.ts";

const logger = getLogger(["flowctl", "runner"]);

/** How often a startup wait reports that it is still waiting. */
const WAITING_REPORT_MS = 5_000;
/** The shortest pause between exec probes while a component starts. */
const EXEC_PROBE_PAUSE_MS = 100;

/** Tells when a component has registered with the control plane (`health: { registered: true }`). */
export interface RegistrationWatcher {
  waitUntilRegistered(componentId: string, signal: AbortSignal): Promise<void>;
  /** Why registrations so far matched no component, if any did not. */
  describeUnmatched?(): string | undefined;
}

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

/** How a supervised component ended, when it ended on its own. */
export type SupervisorEnd =
  | { kind: "finished" }
  | { kind: "failed"; error: ComponentFailedError };

/** The answer to a request of `flowctl restart|stop|start`. */
export type RequestResult = { ok: true; note?: string } | { ok: false; reason: string };

/** A stop or restart asked for while the component runs (or waits out its backoff). */
interface PendingRequest {
  kind: "stop" | "restart";
  done: PromiseWithResolvers<RequestResult>;
  /** The handle's stop, which may clean up after the exit (a container's removal). */
  stopped?: Promise<unknown>;
}

type ReadyOutcome =
  | { kind: "ready" }
  | { kind: "exited"; exit: ExitStatus }
  | { kind: "aborted" }
  | { kind: "timeout"; reason: string | undefined };

/** Starts, watches, restarts and stops one component. */
export class ComponentSupervisor implements AsyncDisposable {
  readonly component: Component;
  readonly #options: SupervisorOptions;
  readonly #ended = Promise.withResolvers<SupervisorEnd>();
  readonly #spawned = Promise.withResolvers<void>();
  readonly #completed = Promise.withResolvers<void>();
  /** Aborted by stop(): the loop ends and no restart happens. */
  readonly #stopping = new AbortController();
  #phase: ComponentPhase = "pending";
  #handle: ComponentHandle | undefined;
  #pumps: Promise<void>[] = [];
  #restarts = 0;
  #backoffStep = -1;
  #startedAt: number | undefined;
  #lastExit: ExitStatus | undefined;
  #exited = false;
  #stopped: Promise<void> | undefined;
  /** Set once supervision runs (after the first readiness) until the component ended. */
  #supervising = false;
  #request: PendingRequest | undefined;
  /** While stopped on request: resolved by a start request (with its answer) or by stop(). */
  #resume: PromiseWithResolvers<PromiseWithResolvers<RequestResult> | undefined> | undefined;
  /** Cuts a backoff short when a request arrives. */
  #wake = new AbortController();
  /** Requests run one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The current exit was caused by failed liveness probes: a failure whatever its code. */
  #livenessKill = false;
  /** That stop, which may clean up after the exit (a container's removal). */
  #livenessStop: Promise<unknown> = Promise.resolve();

  constructor(component: Component, options: SupervisorOptions) {
    this.component = component;
    this.#options = options;
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
    const outcome = await this.#waitReady(handle, AbortSignal.any([signal, this.#stopping.signal]));
    switch (outcome.kind) {
      case "exited":
        if (this.#options.oneShot && isClean(outcome.exit)) {
          await this.#completeDuringStartup(outcome.exit);
          return;
        }
        this.#phase = "failed";
        throw new ComponentFailedError(
          this.component.id,
          `Component "${this.component.id}" ${describeExit(outcome.exit)} during startup`,
          { exit: outcome.exit },
        );
      case "timeout":
        this.#phase = "failed";
        throw new HealthTimeoutError(
          this.component.id,
          `Component "${this.component.id}" did not pass its health check within ${
            formatDuration(this.component.health?.startPeriodMs ?? 0)
          }${outcome.reason ? ` (last probe: ${outcome.reason})` : ""}`,
        );
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
            this.#takeRequest()?.done.resolve({
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
      const exit = await this.#watch(handle, ready);
      if (this.#stopping.signal.aborted) return;
      let requested: PromiseWithResolvers<RequestResult> | undefined;
      const request = this.#takeRequest();
      if (request) {
        await request.stopped;
        await this.#recordRequestedExit(exit);
        requested = this.#settleRequest(request);
      } else {
        const end = await this.#afterExit(exit);
        if (end) return this.#end(end);
        this.#wake = new AbortController();
        // A request that came in while the exit was being handled ends the backoff before it starts.
        if (!this.#request) {
          await delay(
            backoffDelay(this.#backoffStep),
            AbortSignal.any([this.#options.stop, this.#wake.signal]),
          );
        }
        const during = this.#takeRequest();
        if (during?.kind === "stop" && this.#lastExit) {
          // Nothing runs: say that it stays down (and let the state file know).
          this.#emit({
            type: "component_stopped",
            component: this.component.id,
            exit: this.#lastExit,
            graceMs: this.component.stopGraceMs,
          });
        }
        if (during) requested = this.#settleRequest(during);
      }
      if (this.#phase === "stopped") requested = await this.#waitForStartRequest();
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
      const arrived = this.#request;
      if (arrived && !arrived.stopped) arrived.stopped = this.#stopHandle(handle, "on request");
      const outcome = await this.#waitReady(handle, this.#stopping.signal);
      requested?.resolve(this.#describeOutcome(outcome));
      ready = outcome.kind === "ready";
      if (ready) this.#becameReady(handle);
      else if (outcome.kind === "timeout") {
        this.#phase = "unhealthy";
        this.#emit({
          type: "component_unhealthy",
          component: this.component.id,
          reason: `not healthy ${
            formatDuration(this.component.health?.startPeriodMs ?? 0)
          } after its restart${outcome.reason ? ` (last probe: ${outcome.reason})` : ""}`,
        });
      }
    }
  }

  #takeRequest(): PendingRequest | undefined {
    const request = this.#request;
    this.#request = undefined;
    return request;
  }

  /** A stop is done once the component is down; a restart is answered after the next start. */
  #settleRequest(request: PendingRequest): PromiseWithResolvers<RequestResult> | undefined {
    if (request.kind === "restart") return request.done;
    this.#phase = "stopped";
    request.done.resolve({ ok: true });
    return undefined;
  }

  async #recordRequestedExit(exit: ExitStatus): Promise<void> {
    this.#livenessKill = false;
    await Promise.all(this.#pumps);
    this.#lastExit = exit;
    this.#emit({
      type: "component_stopped",
      component: this.component.id,
      exit,
      graceMs: this.component.stopGraceMs,
    });
  }

  /** Waits, stopped on request, for `flowctl start` (its answer) or the pipeline's stop. */
  async #waitForStartRequest(): Promise<PromiseWithResolvers<RequestResult> | undefined> {
    const resume = Promise.withResolvers<PromiseWithResolvers<RequestResult> | undefined>();
    this.#resume = resume;
    const onStop = () => resume.resolve(undefined);
    this.#stopping.signal.addEventListener("abort", onStop, { once: true });
    this.#options.stop.addEventListener("abort", onStop, { once: true });
    try {
      return await resume.promise;
    } finally {
      this.#resume = undefined;
      this.#stopping.signal.removeEventListener("abort", onStop);
      this.#options.stop.removeEventListener("abort", onStop);
    }
  }

  #describeOutcome(outcome: ReadyOutcome): RequestResult {
    const id = this.component.id;
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
            formatDuration(this.component.health?.startPeriodMs ?? 0)
          }${outcome.reason ? ` (last probe: ${outcome.reason})` : ""}`,
        };
    }
  }

  /**
   * Stops the component with its grace period and starts it again at once (no backoff, not
   * counted against max_restarts); resolves once it is ready again, or why it is not.
   */
  restart(): Promise<RequestResult> {
    return this.#enqueue(() => {
      this.#announceRestart();
      if (this.#phase === "stopped") return this.#startRequested();
      return this.#stopRequested("restart");
    });
  }

  /**
   * Stops the component on request: not a failure, and not restarted until `start()`.
   * `forRestart`: the first half of a restart whose second half is `startOnRequest()` (when
   * dependents go down and come back around it).
   */
  stopOnRequest(options: { forRestart?: boolean } = {}): Promise<RequestResult> {
    return this.#enqueue(() => {
      if (options.forRestart) this.#announceRestart();
      return this.#phase === "stopped"
        ? Promise.resolve({ ok: true, note: "it was already stopped" })
        : this.#stopRequested("stop");
    });
  }

  #announceRestart(): void {
    this.#emit({
      type: "component_restarting",
      component: this.component.id,
      restart: this.#restarts,
      delayMs: 0,
      requested: true,
    });
  }

  /** Starts a component stopped on request; resolves once it is ready, or why it is not. */
  startOnRequest(): Promise<RequestResult> {
    return this.#enqueue(() =>
      this.#phase === "stopped"
        ? this.#startRequested()
        : Promise.resolve({ ok: true, note: "it was already running" })
    );
  }

  #enqueue(action: () => Promise<RequestResult>): Promise<RequestResult> {
    const run = this.#queue.then(() => {
      const refusal = this.#refusal();
      return refusal ? { ok: false as const, reason: refusal } : action();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Why requests cannot be served now, if they cannot. */
  #refusal(): string | undefined {
    const id = this.component.id;
    if (this.#stopping.signal.aborted || this.#options.stop.aborted) {
      return "the pipeline is stopping";
    }
    if (!this.#supervising) {
      return this.#phase === "pending" || this.#phase === "starting"
        ? `component "${id}" is still starting`
        : `component "${id}" has ended (${this.#phase})`;
    }
    return undefined;
  }

  #stopRequested(kind: "stop" | "restart"): Promise<RequestResult> {
    const request: PendingRequest = { kind, done: Promise.withResolvers() };
    this.#request = request;
    const handle = this.#handle;
    if (handle && !this.#exited) {
      request.stopped = this.#stopHandle(handle, "on request");
    } else {
      // Waiting out a backoff: act now. (While launching, the loop acts once launched.)
      this.#wake.abort();
    }
    return request.done.promise;
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

  #startRequested(): Promise<RequestResult> {
    const done = Promise.withResolvers<RequestResult>();
    const resume = this.#resume;
    if (!resume) return Promise.resolve({ ok: false, reason: "the pipeline is stopping" });
    resume.resolve(done);
    return done.promise;
  }

  /** Monitors health (of a component that became ready, with a probe) until it exits. */
  async #watch(handle: ComponentHandle, ready: boolean): Promise<ExitStatus> {
    const health = this.component.health;
    const monitorStop = new AbortController();
    if (ready && health && health.probe.type !== "registered") {
      monitorHealth(this.#probeFor(handle), {
        intervalMs: health.intervalMs,
        retries: health.retries,
        signal: AbortSignal.any([monitorStop.signal, this.#stopping.signal]),
        ...(health.restartAfter !== undefined
          ? {
            restartAfter: health.restartAfter,
            onDead: (failures: number) => this.#livenessFailed(handle, failures),
          }
          : {}),
        onChange: (healthy, reason) => {
          if (this.#stopping.signal.aborted) return;
          this.#phase = healthy ? "healthy" : "unhealthy";
          this.#emit(
            healthy
              ? {
                type: "component_healthy",
                component: this.component.id,
                afterMs: 0,
                checked: true,
                recovered: true,
              }
              : {
                type: "component_unhealthy",
                component: this.component.id,
                reason: reason ?? "health check failed",
              },
          );
        },
      });
    }
    try {
      return await handle.exited;
    } finally {
      monitorStop.abort();
    }
  }

  /** Stops a component that failed `failures` probes in a row; its exit counts as a failure. */
  #livenessFailed(handle: ComponentHandle, failures: number): void {
    if (this.#stopping.signal.aborted || this.#request || this.#handle !== handle) return;
    const { component } = this;
    this.#livenessKill = true;
    this.#emit({
      type: "component_liveness_failed",
      component: component.id,
      failures,
      restart: component.restart !== "no" && this.#restarts < component.maxRestarts,
    });
    this.#livenessStop = this.#stopHandle(handle, "unhealthy");
  }

  /** A one-shot that exited 0 before it was ready has completed: it ends finished, not failed. */
  async #completeDuringStartup(exit: ExitStatus): Promise<void> {
    this.#lastExit = exit;
    this.#phase = "exited";
    this.#emit({ type: "component_exited", component: this.component.id, exit });
    await Promise.all(this.#pumps);
    this.#completed.resolve();
    this.#end({ kind: "finished" });
  }

  /** Records an exit and decides what follows: nothing more (an end), or a restart after backoff. */
  async #afterExit(exit: ExitStatus): Promise<SupervisorEnd | undefined> {
    const { component } = this;
    this.#lastExit = exit;
    this.#phase = "exited";
    this.#emit({ type: "component_exited", component: component.id, exit });
    await Promise.all([...this.#pumps, this.#livenessStop]);
    const failed = !isClean(exit) || this.#livenessKill;
    if (!failed) this.#completed.resolve();
    const description = this.#livenessKill
      ? `was stopped after failing ${component.health?.restartAfter} health checks in a row`
      : describeExit(exit);
    this.#livenessKill = false;
    const restart = component.restart === "always" ||
      (component.restart === "on-failure" && failed);
    if (!restart) {
      if (!failed) return { kind: "finished" };
      this.#phase = "failed";
      return {
        kind: "failed",
        error: new ComponentFailedError(
          component.id,
          `Component "${component.id}" ${description}`,
          { exit },
        ),
      };
    }
    if (this.#restarts >= component.maxRestarts) {
      this.#phase = "failed";
      return {
        kind: "failed",
        error: new ComponentFailedError(
          component.id,
          `Component "${component.id}" ${description} and was restarted ${this.#restarts} times already (max_restarts: ${component.maxRestarts})`,
          { exit },
        ),
      };
    }
    this.#backoffStep = nextBackoffStep(this.#backoffStep, Date.now() - (this.#startedAt ?? 0));
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
    this.#handle = handle;
    this.#spawned.resolve();
    this.#startedAt = Date.now();
    this.#exited = false;
    handle.exited.finally(() => {
      if (this.#handle === handle) this.#exited = true;
    });
    this.#pumps = [this.#pump(handle.stdout), this.#pump(handle.stderr)];
    this.#emit({
      type: "component_started",
      component: component.id,
      ...(handle.pid !== undefined ? { pid: handle.pid } : {}),
      ...(handle.containerId !== undefined ? { containerId: handle.containerId } : {}),
      ...(handle.taskId !== undefined ? { taskId: handle.taskId } : {}),
    });
    this.#options.onHandleChanged?.();
    return handle;
  }

  #becameReady(handle: ComponentHandle): void {
    if (this.#handle !== handle || this.#stopping.signal.aborted) return;
    const checked = this.component.health !== undefined;
    this.#phase = checked ? "healthy" : "running";
    this.#emit({
      type: "component_healthy",
      component: this.component.id,
      afterMs: Date.now() - (this.#startedAt ?? Date.now()),
      checked,
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const buffer = new LineBuffer();
    const deliver = (lines: Uint8Array) => {
      if (lines.length === 0) return;
      this.#options.log.write(lines);
      this.#options.onOutput?.(this.component.id, lines);
    };
    try {
      for await (const chunk of stream) deliver(buffer.push(chunk));
    } catch (error) {
      logger.debug("Output stream of {component} ended: {error}", {
        component: this.component.id,
        error,
      });
    }
    deliver(buffer.flush());
  }

  /** Waits until the component is ready, has exited, or `signal` aborts; reports long waits. */
  async #waitReady(handle: ComponentHandle, signal: AbortSignal): Promise<ReadyOutcome> {
    const health = this.component.health;
    if (!health) return { kind: "ready" };
    const began = Date.now();
    let lastReason: string | undefined;
    const reporter = setInterval(() => {
      this.#emit({
        type: "component_waiting",
        component: this.component.id,
        waitedMs: Date.now() - began,
        ...(lastReason !== undefined ? { lastProbe: lastReason } : {}),
      });
    }, WAITING_REPORT_MS);
    const exitSeen = new AbortController();
    const exited = handle.exited.then((exit) => {
      exitSeen.abort();
      return { kind: "exited" as const, exit };
    });
    const waitSignal = AbortSignal.any([signal, exitSeen.signal]);
    try {
      const ready = health.probe.type === "registered"
        ? this.#waitRegistered(health.startPeriodMs, waitSignal)
        : waitUntilHealthy(this.#startupProbe(handle), {
          timeoutMs: health.startPeriodMs,
          maxPauseMs: health.startIntervalMs,
          signal: waitSignal,
          onFailedProbe: (reason) => lastReason = reason,
          // A command (a process, or an engine exec) costs more than a connect.
          ...(health.probe.type === "exec" ? { minPauseMs: EXEC_PROBE_PAUSE_MS } : {}),
        }).then((outcome): ReadyOutcome =>
          outcome.status === "healthy"
            ? { kind: "ready" }
            : outcome.status === "aborted"
            ? { kind: "aborted" }
            : { kind: "timeout", reason: outcome.lastReason }
        );
      const outcome = await Promise.race([exited, ready]);
      // An exit wins over the abort it caused.
      return outcome.kind === "aborted" && exitSeen.signal.aborted && !signal.aborted
        ? await exited
        : outcome;
    } finally {
      clearInterval(reporter);
      exitSeen.abort();
    }
  }

  async #waitRegistered(timeoutMs: number, signal: AbortSignal): Promise<ReadyOutcome> {
    const registrations = this.#options.registrations;
    if (!registrations) return { kind: "timeout", reason: "no control plane is running" };
    try {
      await registrations.waitUntilRegistered(
        this.component.id,
        AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      );
      return { kind: "ready" };
    } catch {
      return signal.aborted ? { kind: "aborted" } : {
        kind: "timeout",
        reason: `it never registered with the control plane${
          unmatchedSuffix(registrations.describeUnmatched?.())
        }`,
      };
    }
  }

  /** At startup a passing probe must be answered by the component's own processes. */
  #startupProbe(handle: ComponentHandle): (signal: AbortSignal) => Promise<ProbeResult> {
    const probe = this.#probeFor(handle);
    const check = this.component.health?.probe;
    const local = handle.pid !== undefined && handle.containerId === undefined;
    return local && (check?.type === "http" || check?.type === "tcp")
      ? ownedProbe(probe, { port: handle.probeAddress(check.port).port, pid: handle.pid! })
      : probe;
  }

  #probeFor(handle: ComponentHandle): (signal: AbortSignal) => Promise<ProbeResult> {
    const health = this.component.health;
    if (!health || health.probe.type === "registered") return () => Promise.resolve({ ok: true });
    const probe = health.probe;
    if (probe.type === "exec") return (signal) => this.#probeExec(handle, probe.command, signal);
    const address = handle.probeAddress(probe.port);
    return probe.type === "http"
      ? (signal) =>
        probeHttp({ ...address, path: probe.path }, { timeoutMs: health.timeoutMs, signal })
      : (signal) => probeTcp(address, { timeoutMs: health.timeoutMs, signal });
  }

  /** Runs an exec probe within the health timeout; exit code 0 is healthy. */
  async #probeExec(
    handle: ComponentHandle,
    command: readonly string[],
    signal: AbortSignal,
  ): Promise<ProbeResult> {
    const timeoutMs = this.component.health?.timeoutMs ?? 0;
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const shown = `"${command.join(" ")}"`;
    try {
      const code = await this.#options.run.exec(handle, command, { signal: deadline });
      return code === 0 ? { ok: true } : { ok: false, reason: `${shown} exited with code ${code}` };
    } catch (error) {
      if (deadline.aborted) {
        return { ok: false, reason: `${shown} timed out after ${formatDuration(timeoutMs)}` };
      }
      const message = error instanceof Deno.errors.NotFound
        ? "command not found"
        : error instanceof Error
        ? error.message.split("\n")[0]
        : String(error);
      return { ok: false, reason: `${shown} could not run: ${message}` };
    }
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
    this.#takeRequest()?.done.resolve({ ok: false, reason: "the pipeline is stopping" });
    const handle = this.#handle;
    if (!handle) return;
    const { component } = this;
    const alreadyExited = this.#exited;
    if (!alreadyExited) {
      this.#phase = "stopping";
      this.#emit({ type: "component_stopping", component: component.id });
    }
    const exit = await handle.stop({ graceMs: component.stopGraceMs, force });
    await Promise.all(this.#pumps);
    if (!alreadyExited) {
      this.#emit({
        type: "component_stopped",
        component: component.id,
        exit,
        graceMs: component.stopGraceMs,
      });
    }
    this.#phase = "stopped";
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const forced = new AbortController();
    forced.abort();
    await this.stop({ force: forced.signal });
  }

  /** What `flowctl status` shows of this component. */
  snapshot(): ComponentSnapshot {
    const handle = this.#handle;
    return {
      id: this.component.id,
      kind: this.component.kind,
      phase: this.#phase,
      ...(handle?.pid !== undefined ? { pid: handle.pid } : {}),
      ...(handle?.pidStartTime !== undefined ? { pidStartTime: handle.pidStartTime } : {}),
      ...(handle?.containerId !== undefined ? { containerId: handle.containerId } : {}),
      ...(handle?.address !== undefined ? { address: handle.address } : {}),
      restarts: this.#restarts,
      ...(this.#startedAt !== undefined ? { startedAt: this.#startedAt } : {}),
      ...(this.#lastExit ? { lastExit: this.#lastExit } : {}),
      logFile: this.#options.log.path,
    };
  }

  #emit(event: RunnerEvent): void {
    this.#options.onEvent(event);
  }
}

/** An exit with code 0, not by a signal. */
function isClean(exit: ExitStatus): boolean {
  return exit.code === 0 && exit.signal === null;
}

function asComponentFailure(component: Component, error: unknown): ComponentFailedError {
  return error instanceof ComponentFailedError ? error : new ComponentFailedError(
    component.id,
    `Component "${component.id}" failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

function unmatchedSuffix(unmatched: string | undefined): string {
  return unmatched ? ` (${clip(unmatched)})` : "";
}
