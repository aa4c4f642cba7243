/**
 * Runs a pipeline: starts components level by level behind their health checks, waits for the
 * run's end (a stop request, a failure, or completion), and stops everything in reverse order on
 * every path out. Each component's own life is its `ComponentSupervisor`'s.
 */
import type { Component, Pipeline } from "../config/mod.ts";
import { LogFile } from "../logs/log_file.ts";
import { ComponentFailedError, type OrchestratorRun } from "../orchestrator/orchestrator.ts";
import { ComponentSupervisor } from "./component_supervisor.ts";
import {
  applyControl,
  assertKnown,
  type ControlAction,
  controlLevels,
  type ControlResult,
} from "./control_order.ts";
import type { RegistrationWatcher } from "./readiness.ts";
import type { DataPathSupervision } from "./data_path_supervision.ts";
import { reportOutcome, type RunOutcome } from "./run_outcome.ts";
import {
  awaitedComponents,
  dependencyMet,
  oneShotIds,
  startConditions,
} from "./start_conditions.ts";
import type { ComponentSnapshot, RunnerEvent } from "./events.ts";
import {
  diffPipelines,
  type ReloadChanges,
  ReloadError,
  type ReloadSummary,
  restartedDependents,
  RUNNING,
} from "./reload_plan.ts";
import { reloadInPlace } from "./reload_in_place.ts";

export type { RunOutcome };

export interface RunnerOptions {
  run: OrchestratorRun;
  logDir: string;
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
  /** The data path (src/datapath): started after startup, stopped first; its sinks finish. */
  dataPath?: DataPathSupervision;
}

/**
 * Starts a pipeline level by level (each level in parallel, each component behind its inputs'
 * health), waits for a stop, a failure or completion, and stops every component in reverse order.
 *
 * @example
 * ```ts
 * const outcome = await new PipelineRunner(pipeline, { run, logDir, stop, force, onEvent }).run();
 * ```
 */
export class PipelineRunner {
  #pipeline: Pipeline;
  readonly #options: RunnerOptions;
  readonly #supervisors = new Map<string, ComponentSupervisor>();
  readonly #logs = new Map<string, LogFile>();
  /** Settles with the run's end once a component fails or, after startup, all have finished. */
  readonly #end = Promise.withResolvers<RunOutcome>();
  /** Components whose current supervisor ended finished. */
  readonly #finished = new Set<string>();
  #started = false;
  /** Reloads run one at a time. */
  #reloading: Promise<unknown> = Promise.resolve();

  constructor(pipeline: Pipeline, options: RunnerOptions) {
    this.#pipeline = pipeline;
    this.#options = options;
    options.dataPath?.attach({
      failed: (error) => this.#end.resolve({ result: "failed", error }),
      finished: (sink) => {
        this.#finished.add(sink);
        this.#checkCompletion();
      },
    });
  }

  /** The pipeline as it runs now (`run --watch` replaces it). */
  get pipeline(): Pipeline {
    return this.#pipeline;
  }

  /**
   * Applies a changed pipeline file to the running pipeline (`run --watch`): stops removed
   * components, restarts changed ones (a new definition, started through `run`) and the running
   * components that depend on them, and starts new ones. Resolves with what was done.
   */
  reload(next: Pipeline, run: OrchestratorRun): Promise<ReloadSummary> {
    const reload = this.#reloading.then(() => this.#reload(next, run));
    this.#reloading = reload.catch(() => {});
    return reload;
  }

  async #reload(next: Pipeline, run: OrchestratorRun): Promise<ReloadSummary> {
    const summary = diffPipelines(this.#pipeline, next);
    if (this.#options.stop.aborted) return { ...summary, dependents: [] };
    if (run.update) return await this.#reloadInPlace(next, run, summary);
    const replaced = new Set([...summary.changed, ...summary.removed]);
    const dependents = restartedDependents(
      next,
      summary,
      (id) => RUNNING.includes(this.#supervisors.get(id)?.phase ?? "pending"),
    );
    const old = this.#pipeline;
    // Down in reverse order of the old graph: dependents first, then what they depend on.
    for (const level of [...old.levels].reverse()) {
      await Promise.all(level.map(async (id) => {
        const supervisor = this.#supervisors.get(id);
        if (!supervisor) return;
        const because = "the pipeline file changed";
        if (dependents.includes(id)) await supervisor.requests.stop({ forRestart: true, because });
        else if (replaced.has(id)) await this.#retire(id);
      }));
    }
    for (const id of summary.removed) await this.#forget(id);
    this.#pipeline = next;
    const oneShots = oneShotIds(next);
    // Up in the new graph's order; a new definition starts through the new run.
    for (const level of next.levels) {
      const results = await Promise.allSettled(level.map(async (id) => {
        if (dependents.includes(id)) {
          const result = await this.#supervisor(id).requests.start();
          if (!result.ok) {
            throw new ReloadError(`component "${id}" did not start again: ${result.reason}`);
          }
          return;
        }
        if (!replaced.has(id) && !summary.added.includes(id)) return;
        const component = next.components.find((c) => c.id === id);
        if (!component) return;
        const supervisor = await this.#addSupervisor(component, run, oneShots.has(id));
        await supervisor.start(this.#options.stop);
      }));
      for (const result of results) {
        if (result.status === "rejected") {
          const error = result.reason;
          if (error instanceof ComponentFailedError) {
            this.#end.resolve({ result: "failed", error });
          }
          throw error;
        }
      }
    }
    // Once the new components run: the data path drives the edges of the new file.
    await this.#options.dataPath?.follow(next);
    this.#options.onHandlesChanged?.();
    return { ...summary, dependents };
  }

  /** A reload through `run.update` (swarm services updated in place): see reload_in_place.ts. */
  #reloadInPlace(next: Pipeline, run: OrchestratorRun, summary: ReloadChanges) {
    return reloadInPlace(this.#pipeline, next, summary, {
      update: async (component) => await run.update?.(component),
      stop: (id) => this.#retire(id),
      start: async (component) => {
        const oneShot = oneShotIds(next).has(component.id);
        await (await this.#addSupervisor(component, run, oneShot)).start(this.#options.stop);
      },
      adopt: (pipeline) => void (this.#pipeline = pipeline),
      forget: (id) => this.#forget(id),
      failed: (error) => this.#end.resolve({ result: "failed", error }),
    });
  }

  /** Stops a component's supervisor that a reload replaces or removes. */
  async #retire(id: string): Promise<void> {
    const supervisor = this.#supervisors.get(id);
    this.#supervisors.delete(id);
    await supervisor?.stop({ force: this.#options.force });
  }

  /** Closes a removed component's log and forgets that it finished. */
  async #forget(id: string): Promise<void> {
    await this.#logs.get(id)?.close();
    this.#logs.delete(id);
    this.#finished.delete(id);
  }

  /** The current state of every component, in start order. */
  snapshot(): ComponentSnapshot[] {
    return this.pipeline.components.map((component) =>
      this.#supervisors.get(component.id)?.snapshot() ??
        { id: component.id, kind: component.kind, phase: "pending", restarts: 0 }
    );
  }

  /**
   * Restarts, stops or starts components of the running pipeline, in dependency order (stops
   * dependents first). With `withDependents`, every component that depends on them, directly or
   * not, is included. Resolves once each is done (ready again, for restart and start).
   * @throws {UnknownComponentError} when an id is not a component of the pipeline.
   */
  async control(
    action: ControlAction,
    ids: readonly string[],
    options: { withDependents: boolean },
  ): Promise<ControlResult[]> {
    const dataPath = this.#options.dataPath;
    const known = [...this.#supervisors.keys(), ...(dataPath ? [dataPath.id] : [])];
    assertKnown(this.pipeline.name, ids, known);
    const components = ids.filter((id) => id !== dataPath?.id);
    const levels = controlLevels(this.pipeline, components, options.withDependents);
    const results = components.length > 0
      ? await applyControl(action, levels, (id) => this.#supervisor(id).requests)
      : [];
    // The data path depends on no component and none on it: it is acted on by itself.
    if (dataPath && components.length < ids.length) results.push(await dataPath.control(action));
    return results;
  }

  /** Runs until a stop is requested, a component fails, or every sink has completed. */
  async run(): Promise<RunOutcome> {
    const started = performance.now();
    let outcome: RunOutcome = { result: "stopped" };
    try {
      await this.#openSupervisors();
      const startupFailure = await this.#startAll();
      if (startupFailure) {
        outcome = { result: "failed", error: startupFailure };
      } else if (!this.#options.stop.aborted) {
        this.#emit({ type: "pipeline_started", afterMs: Math.round(performance.now() - started) });
        this.#options.dataPath?.start(this.#options.stop);
        outcome = await this.#waitForEnd();
      }
    } finally {
      await this.#shutdown(
        outcome.result === "stopped"
          ? "signal"
          : outcome.result === "failed"
          ? "failure"
          : "completed",
      );
    }
    await reportOutcome(outcome, {
      logFileOf: (id) => this.#supervisors.get(id)?.snapshot().logFile,
      emit: (event) => this.#emit(event),
      forced: this.#options.force.aborted,
    });
    return outcome;
  }

  async #openSupervisors(): Promise<void> {
    const oneShots = oneShotIds(this.pipeline);
    // The log files open together (each checks the folder first); supervisors keep file order.
    await Promise.all(this.pipeline.components.map((component) => this.#logOf(component.id)));
    for (const component of this.pipeline.components) {
      await this.#addSupervisor(component, this.#options.run, oneShots.has(component.id));
    }
  }

  /** The log file of component `id`, opened once per run. */
  async #logOf(id: string): Promise<LogFile> {
    const log = this.#logs.get(id) ?? await LogFile.open(this.#options.logDir, id);
    this.#logs.set(id, log);
    return log;
  }

  /**
   * A supervisor for `component` (its log file opened once per run), watched for the run's end:
   * a failure ends the run, and so does, after startup, every awaited component finishing.
   */
  async #addSupervisor(
    component: Component,
    run: OrchestratorRun,
    oneShot: boolean,
  ): Promise<ComponentSupervisor> {
    this.#finished.delete(component.id);
    const log = await this.#logOf(component.id);
    const supervisor = new ComponentSupervisor(component, {
      run,
      oneShot,
      log,
      stop: this.#options.stop,
      onEvent: this.#options.onEvent,
      ...(this.#options.onOutput ? { onOutput: this.#options.onOutput } : {}),
      ...(this.#options.registrations ? { registrations: this.#options.registrations } : {}),
      ...(this.#options.onHandlesChanged
        ? { onHandleChanged: this.#options.onHandlesChanged }
        : {}),
    });
    this.#supervisors.set(component.id, supervisor);
    supervisor.ended.then((end) => {
      // A supervisor replaced by a reload no longer speaks for its component.
      if (this.#supervisors.get(component.id) !== supervisor) return;
      if (end.kind === "failed") this.#end.resolve({ result: "failed", error: end.error });
      else {
        this.#finished.add(component.id);
        this.#checkCompletion();
      }
    });
    return supervisor;
  }

  /**
   * Starts every component once each of its dependencies meets its condition (inputs and the
   * list form of depends_on: healthy); components whose conditions are met start in parallel.
   * The first failure cancels the starts still waiting and is returned.
   */
  async #startAll(): Promise<ComponentFailedError | undefined> {
    const failed = new AbortController();
    const signal = AbortSignal.any([this.#options.stop, failed.signal]);
    const starts = new Map<string, Promise<void>>();
    let firstFailure: unknown;
    const startOne = async (component: Component) => {
      try {
        await Promise.all(
          startConditions(component).map((edge) =>
            dependencyMet(edge, this.#supervisor(edge.id), starts, signal)
          ),
        );
        if (signal.aborted) return;
        await this.#supervisor(component.id).start(signal);
      } catch (error) {
        firstFailure ??= error;
        failed.abort();
        throw error;
      }
    };
    // Levels order the starts, so every dependency's start exists before its dependents look.
    for (const level of this.pipeline.levels) {
      for (const id of level) {
        const component = this.pipeline.components.find((c) => c.id === id);
        if (component) starts.set(id, startOne(component));
      }
    }
    await Promise.allSettled(starts.values());
    if (firstFailure === undefined) return undefined;
    if (firstFailure instanceof ComponentFailedError) return firstFailure;
    throw firstFailure;
  }

  /** Waits for a stop request, the first failure, or every sink finishing. */
  async #waitForEnd(): Promise<RunOutcome> {
    const stopped = Promise.withResolvers<RunOutcome>();
    const onStop = () => stopped.resolve({ result: "stopped" });
    this.#options.stop.addEventListener("abort", onStop, { once: true });
    try {
      if (this.#options.stop.aborted) return { result: "stopped" };
      this.#started = true;
      this.#checkCompletion();
      return await Promise.race([stopped.promise, this.#end.promise]);
    } finally {
      this.#options.stop.removeEventListener("abort", onStop);
    }
  }

  /** Ends the run as completed once every awaited component (every sink) has finished. */
  #checkCompletion(): void {
    if (!this.#started) return;
    if (awaitedComponents(this.pipeline).every((c) => this.#finished.has(c.id))) {
      this.#end.resolve({ result: "completed" });
    }
  }

  /** Stops every started component in reverse dependency order, one level at a time. */
  async #shutdown(reason: "signal" | "failure" | "completed"): Promise<void> {
    const sinks = this.pipeline.components.some((c) => ["sink", "pipeline"].includes(c.kind));
    const finished = sinks ? "sinks" : "components";
    this.#emit({ type: "pipeline_stopping", reason, ...(reason === "completed" && { finished }) });
    const errors: unknown[] = [];
    // The data path calls the components: it stops before them.
    await this.#options.dataPath?.stop(this.#options.force).catch((error) => errors.push(error));
    for (const level of [...this.pipeline.levels].reverse()) {
      const results = await Promise.allSettled(
        level.map((id) => this.#supervisors.get(id)?.stop({ force: this.#options.force })),
      );
      for (const result of results) if (result.status === "rejected") errors.push(result.reason);
    }
    await Promise.all([...this.#logs.values()].map((log) => log.close()));
    this.#options.onHandlesChanged?.();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(errors, `${errors.length} components failed to stop`);
    }
  }

  #supervisor(id: string): ComponentSupervisor {
    const supervisor = this.#supervisors.get(id);
    if (!supervisor) {
      throw new RangeError(`no component "${id}" in pipeline "${this.pipeline.name}"`);
    }
    return supervisor;
  }

  #emit(event: RunnerEvent): void {
    this.#options.onEvent(event);
  }
}
