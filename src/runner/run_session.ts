/**
 * One `flowctl run` from claim to cleanup: every resource it holds (signals, claim, orchestrator,
 * control plane, timers, state writer, the orchestrator's run) sits on one AsyncDisposableStack,
 * so it is released in reverse order on every path, and a cleanup error is reported together
 * with the error that caused the cleanup (a SuppressedError), never instead of it.
 */
import { AdminServer } from "../admin/admin_server.ts";
import type { ExecContext } from "../admin/protocol.ts";
import { UnknownComponentError } from "./pipeline_runner.ts";
import { join, resolve } from "node:path";
import { ConfigError, formatIssue, type Pipeline } from "../config/mod.ts";
import {
  type ControlPlaneServer,
  startControlPlane,
} from "../controlplane/control_plane_server.ts";
import { healthPorts } from "../controlplane/health_ports.ts";
import { identifyComponents } from "../controlplane/peer_identity.ts";
import { Registry } from "../controlplane/registry.ts";
import { reportRegistryEvent } from "../controlplane/registry_report.ts";
import type { DockerClient } from "../docker/docker_client.ts";
import { type Leftovers, removeLeftovers } from "../recovery/leftovers.ts";
import {
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
} from "../orchestrator/orchestrator.ts";
import { ProcessOrchestrator } from "../orchestrator/process/process_orchestrator.ts";
import { ensureLogDir } from "../logs/log_file.ts";
import { RunClaim } from "../state/run_claim.ts";
import { ensureStateDir } from "../state/state_file.ts";
import { UserError } from "../user_error.ts";
import { buildRunState, StateWriter } from "../state/state_writer.ts";
import { componentEnv } from "./component_env.ts";
import { fingerprint, waitForChange } from "./file_watcher.ts";
import type { RunnerEvent } from "./events.ts";
import { PipelineRunner, type ReloadSummary, type RunOutcome } from "./pipeline_runner.ts";

export interface RunSessionOptions {
  logDir: string;
  /** 0 picks a free port. */
  controlPlanePort: number;
  /** Swarm mode: where components reach the control plane (`--control-plane-address`). */
  controlPlaneAddress?: string | undefined;
  /** Lets any local caller register as any component (`--open-control-plane`). */
  openControlPlane: boolean;
  /** `--strict`: event types that never meet, also through component metadata, are an error. */
  strictEventTypes?: boolean;
  /** FLOWCTL_HEARTBEAT_INTERVAL as given to components, and the same in milliseconds. */
  heartbeat: { text: string; ms: number };
  /** Shutdown requests; the session disposes of them when it ends. */
  signals: { stop: AbortSignal; force: AbortSignal } & Disposable;
  emit(event: RunnerEvent): void;
  onOutput?(componentId: string, lines: Uint8Array): void;
  onPullProgress?(component: string, line: string): void;
  /** Called once the pipeline started and the state file says so (`run -d` waits for it). */
  onStarted?(): void;
  /**
   * `run --watch`: loads the pipeline file again after it (or its .env or env files) changed.
   * @throws {UserError} (a ConfigError: its located issues) when it is invalid now.
   */
  reload?(): Promise<Pipeline>;
}

/** How a session ended: a runner outcome, or refused before anything started. */
export type SessionResult = RunOutcome["result"] | "refused";

/** Runs `pipeline` until it stops, fails or completes, and releases everything it held. */
export async function runSession(
  pipeline: Pipeline,
  options: RunSessionOptions,
): Promise<SessionResult> {
  await using stack = new AsyncDisposableStack();
  stack.use(options.signals);
  return await new RunSession(pipeline, options, stack).run();
}

/** The steps of one run, each adding what it holds to the session's disposable stack. */
class RunSession {
  readonly #pipeline: Pipeline;
  readonly #options: RunSessionOptions;
  readonly #stack: AsyncDisposableStack;
  readonly #runId = crypto.randomUUID();
  readonly #stateWriter: StateWriter;
  #controlPlanePort = 0;
  #networkId: string | undefined;
  #run: OrchestratorRun | undefined;
  #runner: PipelineRunner | undefined;
  /** The orchestrator's runs: the first, and one per `run --watch` reload that started something. */
  readonly #runs: OrchestratorRun[] = [];

  constructor(pipeline: Pipeline, options: RunSessionOptions, stack: AsyncDisposableStack) {
    this.#pipeline = pipeline;
    this.#options = options;
    this.#stack = stack;
    this.#stateWriter = new StateWriter(() =>
      buildRunState({
        pipeline: this.#runner?.pipeline ?? pipeline,
        runId: this.#runId,
        logDir: options.logDir,
        controlPlane: { host: "127.0.0.1", port: this.#controlPlanePort },
        networkId: this.#networkId,
        components: this.#runner?.snapshot() ?? [],
      })
    );
  }

  async run(): Promise<SessionResult> {
    const { emit, signals } = this.#options;
    const orchestrator = await this.#refusable(() => this.#prepare());
    if (!orchestrator) return signals.stop.aborted ? "stopped" : "refused";
    const registry = this.#registry();
    const controlPlane = this.#stack.use(
      await startControlPlane({
        registry,
        hosts: ["127.0.0.1"],
        port: this.#options.controlPlanePort,
        open: this.#options.openControlPlane,
        identifyPeer: identifyComponents({
          orchestrator: this.#pipeline.orchestrator === "process" ? "process" : "container",
          components: () => this.#runner?.snapshot() ?? [],
          // Swarm tasks are known by the orchestrator's run, not by local container inspection.
          ...(this.#pipeline.orchestrator === "swarm"
            ? {
              addressesOf: (c: { containerId?: string | undefined }) =>
                c.containerId ? this.#run?.peerAddresses?.(c.containerId) ?? [] : [],
            }
            : {}),
        }),
      }),
    );
    this.#controlPlanePort = controlPlane.port;
    this.#stack.defer(() => this.#stateWriter.close());
    await this.#stateWriter.flush();
    emit({
      type: "pipeline_starting",
      pipeline: this.#pipeline.name,
      orchestrator: this.#pipeline.orchestrator,
      runId: this.#runId,
      components: this.#pipeline.components.length,
      controlPlane: `127.0.0.1:${controlPlane.port}`,
    });
    const run = await this.#refusable(() => this.#open(orchestrator, controlPlane, this.#pipeline));
    if (!run) return signals.stop.aborted ? "stopped" : "refused";
    this.#networkId = run.networkId;
    this.#run = run;
    this.#runner = new PipelineRunner(this.#pipeline, {
      run,
      logDir: this.#options.logDir,
      stop: signals.stop,
      force: signals.force,
      onEvent: (event) => {
        emit(event);
        this.#stateWriter.changed();
        if (event.type === "pipeline_started" && this.#options.onStarted) {
          const onStarted = this.#options.onStarted;
          this.#stateWriter.flush().then(onStarted, onStarted);
        }
        if (event.type === "pipeline_started" && this.#options.reload) {
          this.#watchFile(orchestrator, controlPlane);
        }
      },
      ...(this.#options.onOutput ? { onOutput: this.#options.onOutput } : {}),
      registrations: registry,
      onHandlesChanged: () => this.#stateWriter.flush(),
    });
    this.#runs.push(run);
    this.#stack.use(await this.#listenAdmin(this.#runner, run));
    return (await this.#runner.run()).result;
  }

  /** The files of the pipeline that `run --watch` follows: the file, its .env, its env files. */
  #watchedPaths(pipeline: Pipeline): string[] {
    return [resolve(pipeline.file), join(pipeline.dir, ".env"), ...pipeline.envFiles];
  }

  /** `run --watch`: reloads the pipeline whenever its files change, one reload at a time. */
  #watchFile(orchestrator: Orchestrator, controlPlane: ControlPlaneServer): void {
    const ended = new AbortController();
    const signal = AbortSignal.any([ended.signal, this.#options.signals.stop]);
    const loop = (async () => {
      let paths = this.#watchedPaths(this.#pipeline);
      let seen = fingerprint(paths);
      while (true) {
        // The version is taken before loading: a write during a reload is seen next time.
        const now = await waitForChange(paths, seen, signal);
        if (now === undefined) return;
        seen = now;
        let next: Pipeline | undefined;
        try {
          next = await this.#reloadFile(orchestrator, controlPlane);
        } catch (error) {
          // A bug here must not take the running pipeline down with it.
          this.#options.emit({
            type: "notice",
            message: `Pipeline file changed but reloading it failed: ${
              error instanceof Error ? (error.stack ?? error.message) : String(error)
            }`,
          });
        }
        if (next) {
          const nextPaths = this.#watchedPaths(next);
          if (nextPaths.join("\n") !== paths.join("\n")) {
            paths = nextPaths;
            seen = fingerprint(paths);
          }
        }
      }
    })();
    this.#stack.defer(async () => {
      ended.abort();
      await loop;
    });
  }
  /**
   * Loads the changed file and applies it; an invalid file (or one that cannot start) is
   * reported and leaves the running pipeline as it is.
   */
  async #reloadFile(
    orchestrator: Orchestrator,
    controlPlane: ControlPlaneServer,
  ): Promise<Pipeline | undefined> {
    const runner = this.#runner;
    const reload = this.#options.reload;
    if (!runner || !reload) return undefined;
    const notice = (message: string) => this.#options.emit({ type: "notice", message });
    const current = runner.pipeline;
    let next: Pipeline;
    try {
      next = await reload();
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      notice("Pipeline file changed but is invalid; the running pipeline is left as it is:");
      if (error instanceof ConfigError) {
        for (const issue of error.issues) notice(formatIssue(issue));
      } else notice(error.message);
      return undefined;
    }
    if (next.name !== current.name || next.orchestrator !== current.orchestrator) {
      notice(
        "Pipeline file changed its name or orchestrator; the running pipeline is left as it is (restart flowctl to apply it)",
      );
      return undefined;
    }
    const fresh = next.components.filter((c) => {
      const before = current.components.find((old) => old.id === c.id);
      return !before || JSON.stringify(before) !== JSON.stringify(c);
    });
    const removed = current.components.filter((c) => !next.components.some((n) => n.id === c.id));
    if (fresh.length === 0 && removed.length === 0) return next;
    const freshIds = new Set(fresh.map((c) => c.id));
    const part = (ids: ReadonlySet<string>): Pipeline => ({
      ...next,
      components: next.components.filter((c) => ids.has(c.id)),
      levels: next.levels.map((level) => level.filter((id) => ids.has(id))).filter((l) =>
        l.length > 0
      ),
    });
    try {
      // Changed components still hold their ports, so only new ones are checked up front.
      const added = new Set(
        fresh.filter((c) => !current.components.some((old) => old.id === c.id)).map((c) => c.id),
      );
      if (added.size > 0) {
        await orchestrator.check(part(added), { signal: this.#options.signals.stop });
      }
      const run = fresh.length > 0
        ? await this.#open(orchestrator, controlPlane, part(freshIds), this.#runs[0])
        : this.#runs[0];
      if (!run) return undefined;
      if (fresh.length > 0) this.#runs.push(run);
      const summary = await runner.reload(next, run);
      notice(`Pipeline reloaded: ${describeReload(summary)}`);
      return next;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      notice(`Pipeline file changed but cannot be applied: ${error.message}`);
      return undefined;
    } finally {
      await this.#stateWriter.flush();
    }
  }

  /** The admin socket that `flowctl restart|stop|start|exec` talk to. */
  async #listenAdmin(runner: PipelineRunner, run: OrchestratorRun): Promise<AdminServer> {
    const pipeline = this.#pipeline;
    return await AdminServer.listen(pipeline.name, {
      control: async ({ action, components, withDependents }) => {
        const results = await runner.control(action, components, { withDependents });
        // `flowctl status` right after the answer must see the new state.
        await this.#stateWriter.flush();
        return { results };
      },
      execContext: (id): ExecContext => {
        const pipeline = runner.pipeline;
        const component = pipeline.components.find((c) => c.id === id);
        // The latest run that started it (a reload starts changed components in a new one).
        const env = this.#runs.findLast((r) => r.envOf(id) !== undefined)?.envOf(id) ??
          run.envOf(id);
        if (!component || !env) {
          throw new UnknownComponentError(
            `pipeline "${pipeline.name}" has no component "${id}" (its components: ${
              pipeline.components.map((c) => c.id).join(", ")
            })`,
          );
        }
        const snapshot = runner.snapshot().find((c) => c.id === id);
        const running = snapshot !== undefined &&
          ["starting", "healthy", "unhealthy", "running"].includes(snapshot.phase);
        const containerId = running ? snapshot.containerId : undefined;
        return {
          component: id,
          orchestrator: pipeline.orchestrator,
          workingDir: component.workingDir,
          env: { ...env },
          ...(containerId !== undefined ? { containerId } : {}),
        };
      },
    });
  }

  /** Claims the pipeline, removes what a killed run left, and checks that everything can start. */
  async #prepare(): Promise<Orchestrator> {
    // Without a state file a second run is not refused and `down` cannot help.
    await ensureStateDir();
    await ensureLogDir(this.#options.logDir);
    const claim = this.#stack.use(await RunClaim.take(this.#pipeline));
    const { orchestrator, docker } = await openOrchestrator(
      this.#pipeline,
      this.#stack,
      this.#options.controlPlaneAddress,
    );
    const leftovers = await removeLeftovers(this.#pipeline, { state: claim.previous, docker });
    if (leftovers.liveOwner) {
      throw new PreflightError([
        `"${this.#pipeline.name}" is already running: its containers belong to flowctl pid ${leftovers.liveOwner.pid}, which is alive; stop that flowctl first (with the state folder it uses, "flowctl down ${this.#pipeline.name}")`,
      ]);
    }
    for (const message of describeLeftovers(this.#pipeline, leftovers)) {
      this.#options.emit({ type: "notice", message });
    }
    await orchestrator.check(this.#pipeline, { signal: this.#options.signals.stop });
    return orchestrator;
  }

  /** Opens the orchestrator's run: pulls, network, containers; Ctrl+C cancels it. */
  async #open(
    orchestrator: Orchestrator,
    controlPlane: ControlPlaneServer,
    pipeline: Pipeline,
    joins?: OrchestratorRun,
  ) {
    const hostEnv = Deno.env.toObject();
    return this.#stack.use(
      await orchestrator.open(pipeline, {
        runId: this.#runId,
        signal: this.#options.signals.stop,
        ...(this.#options.strictEventTypes ? { strictEventTypes: true } : {}),
        ...(joins ? { joins } : {}),
        controlPlane,
        envFor: (component, controlPlaneEndpoint, metadata) =>
          componentEnv(pipeline, component, {
            controlPlaneEndpoint,
            heartbeatInterval: this.#options.heartbeat.text,
            runId: this.#runId,
            hostEnv,
            ...(metadata ? { metadata } : {}),
          }),
        onNotice: (message) => this.#options.emit({ type: "notice", message }),
        ...(this.#options.onPullProgress ? { onPullProgress: this.#options.onPullProgress } : {}),
      }),
    );
  }

  #registry(): Registry {
    const registry = new Registry({
      components: this.#pipeline.components.map((c) => ({ id: c.id, healthPorts: healthPorts(c) })),
      heartbeatIntervalMs: this.#options.heartbeat.ms,
      onEvent: (event) => {
        reportRegistryEvent(event, {
          emit: this.#options.emit,
          notice: (message) => this.#options.emit({ type: "notice", message }),
        });
        this.#stateWriter.changed();
      },
    });
    const staleness = setInterval(
      () => registry.checkStaleness(),
      Math.max(50, this.#options.heartbeat.ms / 2),
    );
    this.#stack.defer(() => clearInterval(staleness));
    return registry;
  }

  /**
   * Runs a step that may refuse to start the pipeline; a refusal is reported as the pipeline's
   * failure (or its stop, when Ctrl+C cancelled the step) and yields undefined.
   */
  async #refusable<T>(step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (error) {
      const { emit, signals } = this.#options;
      if (signals.stop.aborted) {
        emit({ type: "pipeline_stopped" });
        return undefined;
      }
      if (!(error instanceof UserError)) throw error;
      emit({ type: "pipeline_failed", component: "", reason: error.message, logTail: [] });
      return undefined;
    }
  }
}

/**
 * The orchestrator of the pipeline's kind; container mode connects to the engine first, and its
 * client also removes container leftovers.
 */
async function openOrchestrator(
  pipeline: Pipeline,
  stack: AsyncDisposableStack,
  controlPlaneAddress: string | undefined,
): Promise<{ orchestrator: Orchestrator; docker?: DockerClient }> {
  if (pipeline.orchestrator === "swarm") {
    const { SwarmOrchestrator } = await import("../orchestrator/swarm/swarm_orchestrator.ts");
    const orchestrator = stack.use(await SwarmOrchestrator.connect({ controlPlaneAddress }));
    return { orchestrator, docker: orchestrator.docker };
  }
  if (pipeline.orchestrator !== "container") return { orchestrator: new ProcessOrchestrator() };
  // Loaded only here: process mode does not pay for the Docker client.
  const { ContainerOrchestrator } = await import(
    "../orchestrator/container/container_orchestrator.ts"
  );
  const orchestrator = stack.use(await ContainerOrchestrator.connect());
  return { orchestrator, docker: orchestrator.docker };
}

/** Notice lines about what an earlier, killed run left and this one removed. */
function describeLeftovers(pipeline: Pipeline, leftovers: Leftovers): string[] {
  const lines = leftovers.processes.map((removed) =>
    `Stopped component ${removed.component} left by an earlier run (process group ${
      removed.pids.join(", ")
    })`
  );
  if (leftovers.containers + leftovers.networks + leftovers.services > 0) {
    lines.push(
      `Removed ${
        leftovers.services > 0 ? `${leftovers.services} service(s), ` : ""
      }${leftovers.containers} container(s) and ${leftovers.networks} network(s) left by an earlier run of ${pipeline.name}`,
    );
  }
  return lines;
}

/** `restarted proc (changed), sink (depends on proc); started tap (new); stopped old (removed)`. */
function describeReload(summary: ReloadSummary): string {
  const parts = [
    summary.changed.length > 0 ? `restarted ${summary.changed.join(", ")} (changed)` : "",
    summary.dependents.length > 0
      ? `restarted ${summary.dependents.join(", ")} (depend on a changed component)`
      : "",
    summary.added.length > 0 ? `started ${summary.added.join(", ")} (new)` : "",
    summary.removed.length > 0 ? `stopped ${summary.removed.join(", ")} (removed)` : "",
  ];
  return parts.filter(Boolean).join("; ");
}
