/**
 * One `flowctl run` from claim to cleanup: every resource it holds (signals, claim, orchestrator,
 * control plane, timers, state writer, the orchestrator's run) sits on one AsyncDisposableStack,
 * so it is released in reverse order on every path, and a cleanup error is reported together
 * with the error that caused the cleanup (a SuppressedError), never instead of it.
 */
import { AdminServer } from "../admin/admin_server.ts";
import type { ExecContext } from "../admin/protocol.ts";
import { UnknownComponentError } from "./control_order.ts";
import { type Pipeline } from "../config/mod.ts";
import { ControlPlaneProcess } from "../controlplane/control_plane_process.ts";
import { healthPorts } from "../controlplane/health_ports.ts";
import { identifyComponents } from "../controlplane/peer_identity.ts";
import { Registry, type RegistryEvent } from "../controlplane/registry.ts";
import { reportRegistryEvent } from "../controlplane/registry_report.ts";
import { describeLeftovers, removeLeftovers } from "../recovery/leftovers.ts";
import {
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
} from "../orchestrator/orchestrator.ts";
import { connectOrchestrator, modeOf } from "../orchestrator/select.ts";
import { ensureLogDir } from "../logs/log_file.ts";
import { RunClaim } from "../state/run_claim.ts";
import { ensureStateDir } from "../state/state_file.ts";
import { UserError } from "../user_error.ts";
import { buildRunState, StateWriter } from "../state/state_writer.ts";
import { componentEnv } from "./component_env.ts";
import { watchPipelineFile } from "./file_reload.ts";
import type { RunnerEvent } from "./events.ts";
import { PipelineRunner, type RunOutcome } from "./pipeline_runner.ts";
import { type RunObserver, type RunView, runView } from "./run_view.ts";
import { dataPathId, planDataPath } from "../datapath/plan.ts";
import { dataPathComponent, DataPathSupervision } from "./data_path_supervision.ts";
import { POSITIONS_VARIABLE } from "../datapath/plan_schema.ts";
import { join } from "node:path";

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
  /** The dashboard: shown the run once its runner exists, asked for its URL by `flowctl ui`. */
  dashboard?: RunObserver;
}

/**
 * How a session ended: a runner outcome, or refused before anything started ("misconfigured"
 * when the user must fix the setup: exit 2).
 */
export type SessionResult = RunOutcome["result"] | "refused" | "misconfigured";

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
  #controlPlane: ControlPlaneProcess | undefined;
  #networkId: string | undefined;
  #run: OrchestratorRun | undefined;
  #runner: PipelineRunner | undefined;
  /** What a refused start ends as: "misconfigured" once a refusal was the user's to fix. */
  #refusal: "refused" | "misconfigured" = "refused";
  #dataPath: DataPathSupervision | undefined;
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
        controlPlane: {
          host: "127.0.0.1",
          port: this.#controlPlane?.port ?? 0,
          pid: this.#controlPlane?.pid,
        },
        networkId: this.#networkId,
        components: [
          ...this.#runner?.snapshot() ?? [],
          ...[this.#dataPath?.snapshot()].filter((c) => c !== undefined),
        ],
        edges: this.#dataPath?.edges() ?? [],
      })
    );
  }

  async run(): Promise<SessionResult> {
    const { emit, signals } = this.#options;
    const orchestrator = await this.#refusable(() => this.#prepare());
    if (!orchestrator) return signals.stop.aborted ? "stopped" : this.#refusal;
    const registry = this.#registry();
    const controlPlane = this.#stack.use(
      await ControlPlaneProcess.start({
        registry,
        hosts: ["127.0.0.1"],
        port: this.#options.controlPlanePort,
        open: this.#options.openControlPlane,
        components: this.#pipeline.components.map((c) => ({
          id: c.id,
          healthPorts: healthPorts(c),
        })),
        heartbeatIntervalMs: this.#options.heartbeat.ms,
        identifyPeer: modeOf(this.#pipeline.orchestrator).peersKnownByRun
          // Swarm tasks are known by the orchestrator's run, not by local container inspection.
          ? (peer, claim) => this.#run?.identifyPeer?.(peer, claim) ?? Promise.resolve(undefined)
          : identifyComponents({
            orchestrator: modeOf(this.#pipeline.orchestrator).peerIdentity,
            components: () => this.#runner?.snapshot() ?? [],
          }),
        onEvent: (event) => this.#onRegistryEvent(event),
        onNotice: (message) => {
          this.#options.emit({ type: "notice", message });
          this.#stateWriter.changed();
        },
      }),
    );
    this.#controlPlane = controlPlane;
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
    if (!run) return signals.stop.aborted ? "stopped" : this.#refusal;
    this.#networkId = run.networkId;
    this.#run = run;
    const dataPath = await this.#refusable(() => this.#openDataPath(controlPlane, registry));
    if (dataPath === undefined) return signals.stop.aborted ? "stopped" : "refused";
    this.#dataPath = dataPath ?? undefined;
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
      ...(dataPath ? { dataPath } : {}),
    });
    this.#runs.push(run);
    const view = runView(this.#runner, registry, {
      runId: this.#runId,
      controlled: () => this.#stateWriter.flush(),
    });
    this.#options.dashboard?.attach(view);
    this.#stack.use(await this.#listenAdmin(view, run));
    return (await this.#runner.run()).result;
  }

  /** `run --watch`: reloads the pipeline whenever its files change, one reload at a time. */
  #watchFile(orchestrator: Orchestrator, controlPlane: ControlPlaneProcess): void {
    const runner = this.#runner;
    const load = this.#options.reload;
    if (!runner || !load) return;
    watchPipelineFile(this.#stack, {
      orchestrator,
      runner,
      stop: this.#options.signals.stop,
      notice: (message) => this.#options.emit({ type: "notice", message }),
      load,
      firstRun: () => this.#runs[0],
      openRun: async (part) => {
        const run = await this.#open(orchestrator, controlPlane, part, this.#runs[0]);
        this.#runs.push(run);
        return run;
      },
      flushState: () => this.#stateWriter.flush(),
    });
  }

  /** The admin socket that `flowctl restart|stop|start|exec|ui` talk to. */
  async #listenAdmin(view: RunView, run: OrchestratorRun): Promise<AdminServer> {
    const dashboard = this.#options.dashboard;
    return await AdminServer.listen(this.#pipeline.name, {
      ...(dashboard ? { dashboard: async () => ({ url: await dashboard.url() }) } : {}),
      control: async ({ action, components, withDependents }) => ({
        results: await view.control(action, components, { withDependents }),
      }),
      execContext: (id, replica = 1): ExecContext => {
        const pipeline = view.pipeline();
        const component = pipeline.components.find((c) => c.id === id);
        // The latest run that started it (a reload starts changed components in a new one).
        const env = this.#runs.findLast((r) => r.envs.of(id) !== undefined)?.envs.of(id) ??
          run.envs.of(id);
        if (!component || !env || replica > component.replicas) {
          throw new UnknownComponentError(
            `pipeline "${pipeline.name}" has no component "${id}"${
              component ? ` replica ${replica}` : ""
            } (its components: ${pipeline.components.map((c) => c.id).join(", ")})`,
          );
        }
        const snapshot = view.snapshot().find((c) => c.id === id);
        const running = snapshot !== undefined &&
          ["starting", "healthy", "unhealthy", "running"].includes(snapshot.phase);
        const instance = snapshot?.replicas?.[replica - 1] ?? snapshot;
        const containerId = running ? instance?.containerId : undefined;
        return {
          component: id,
          orchestrator: pipeline.orchestrator,
          workingDir: component.workingDir,
          env: { ...env, ...(component.replicas > 1 && { FLOWCTL_REPLICA: String(replica) }) },
          ...(containerId !== undefined ? { containerId } : {}),
        };
      },
    });
  }

  /**
   * The data path of the run when some edge may be driven (src/datapath): its component, and a
   * process run of its own that starts it, in every mode. Null when no edge may be driven.
   */
  async #openDataPath(
    controlPlane: ControlPlaneProcess,
    registrations: Registry,
  ): Promise<DataPathSupervision | null> {
    const { plan: planned, edges } = planDataPath(this.#pipeline);
    // `run --watch` may add edges to drive later: the data path is there to follow them.
    if (!planned && this.#options.reload === undefined) return null;
    const plan = planned ??
      { pipeline: this.#pipeline.name, host: "127.0.0.1", components: [], edges: [] };
    const id = dataPathId(this.#pipeline);
    const component = dataPathComponent(plan, id, {
      workingDir: this.#pipeline.dir,
      positionsFile: join(this.#options.logDir, `.${id}.positions.json`),
      // Container addresses, swarm tasks' published ports (none in process mode: 127.0.0.1).
      hostsFile: join(this.#options.logDir, `.${id}.hosts.json`),
    });
    await Deno.remove(component.env[POSITIONS_VARIABLE] ?? "").catch(() => {});
    const pipeline: Pipeline = { ...this.#pipeline, components: [component], levels: [[id]] };
    // A process on this host in every mode: it reaches components where flowctl's probes do
    // (in swarm mode through the data port each task's node publishes).
    const { ProcessOrchestrator } = await import("../orchestrator/process/process_orchestrator.ts");
    const run = await this.#open(new ProcessOrchestrator(), controlPlane, pipeline);
    return new DataPathSupervision({ component, plan, edges, run }, {
      logDir: this.#options.logDir,
      stop: this.#options.signals.stop,
      onEvent: (event) => {
        this.#options.emit(event);
        this.#stateWriter.changed();
      },
      ...(this.#options.onOutput ? { onOutput: this.#options.onOutput } : {}),
      registrations,
      onHandleChanged: () => this.#stateWriter.flush(),
      reach: () =>
        Object.fromEntries((this.#runner?.snapshot() ?? []).flatMap((c) => {
          const reach = this.#run?.reach?.(c.id) ?? (c.address ? { host: c.address } : undefined);
          return reach ? [[c.id, reach]] : [];
        })),
    });
  }

  /** Claims the pipeline, removes what a killed run left, and checks that everything can start. */
  async #prepare(): Promise<Orchestrator> {
    // Without a state file a second run is not refused and `down` cannot help.
    await ensureStateDir();
    await ensureLogDir(this.#options.logDir);
    const claim = this.#stack.use(await RunClaim.take(this.#pipeline));
    const { orchestrator, docker } = await connectOrchestrator(
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
    controlPlane: ControlPlaneProcess,
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
            heartbeatIntervalMs: this.#options.heartbeat.ms,
            runId: this.#runId,
            hostEnv,
            ...(metadata ? { metadata } : {}),
          }),
        onNotice: (message) => this.#options.emit({ type: "notice", message }),
        ...(this.#options.onPullProgress ? { onPullProgress: this.#options.onPullProgress } : {}),
      }),
    );
  }

  /** The mirror of the control plane's registry, which the runner's readiness gates wait on. */
  #registry(): Registry {
    return new Registry({
      components: this.#pipeline.components.map((c) => ({ id: c.id, healthPorts: healthPorts(c) })),
      heartbeatIntervalMs: this.#options.heartbeat.ms,
    });
  }

  #onRegistryEvent(event: RegistryEvent): void {
    reportRegistryEvent(event, {
      emit: this.#options.emit,
      notice: (message) => this.#options.emit({ type: "notice", message }),
    });
    this.#stateWriter.changed();
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
      if (error.exitCode === 2) this.#refusal = "misconfigured";
      emit({ type: "pipeline_failed", component: "", reason: error.message, logTail: [] });
      return undefined;
    }
  }
}
