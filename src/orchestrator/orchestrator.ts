/**
 * The contract every orchestrator (processes, containers) fulfils: `check()` a pipeline without
 * side effects, then `open()` a run that starts components one by one and removes everything it
 * made when disposed.
 */
import type { Component, OrchestratorKind, Pipeline } from "../config/mod.ts";
import type { ConfigEnvMetadata } from "../config/config_env.ts";
import { UserError } from "../user_error.ts";
import type { ProbeResult } from "../health/probe.ts";
import type { PeerAddress, PeerClaim, PeerRefusal } from "../controlplane/peer.ts";
import type { RunEnvs } from "./run_envs.ts";

/** How a component ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number;
  signal: string | null;
}

/** Options of `ComponentHandle.stop()`. */
export interface StopOptions {
  graceMs: number;
  /** Aborting it skips the rest of the grace period. */
  force?: AbortSignal;
}

/** A started component. `stop()` is idempotent; disposing stops it at once. */
export interface ComponentHandle extends AsyncDisposable {
  readonly componentId: string;
  /** Process id (process mode), for status and state. */
  readonly pid?: number;
  /** Start time of `pid` (clock ticks since boot), so a reused pid is never mistaken for it. */
  readonly pidStartTime?: number | undefined;
  readonly containerId?: string;
  /** The container's address on the run's network, by which the control plane knows it. */
  readonly address?: string | undefined;
  /** With `replicas: N` (N > 1): each instance, replica 1 first. */
  readonly replicas?: readonly ComponentHandle[];
  /** The swarm task it is (swarm mode), for --output json. */
  readonly taskId?: string;
  /** stdout and stderr bytes; each stream ends when the component ends. */
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Settles when the component has exited (its whole process group, in process mode). */
  readonly exited: Promise<ExitStatus>;
  /** Where flowctl reaches a port of the component from the host, for health probes. */
  probeAddress(port: number): { hostname: string; port: number };
  /**
   * Runs the component's http/tcp health probe itself, where flowctl cannot reach the port
   * (a swarm task probed from inside its overlay network); absent when `probeAddress` serves.
   */
  readonly probeHealth?: (options: { signal: AbortSignal }) => Promise<ProbeResult>;
  /** Stops the component: SIGTERM (or the engine's stop), `graceMs`, then SIGKILL. */
  stop(options: StopOptions): Promise<ExitStatus>;
}

/** The control plane as an orchestrator sees it while opening a run. */
export interface ControlPlaneAccess {
  readonly port: number;
  /** Also listens on `host` (the pipeline network's gateway), with the same port. */
  listenOn(host: string): Promise<void>;
}

export interface OpenOptions {
  runId: string;
  /** Aborting it cancels what open() is doing (pulls, network creation); open() then cleans up. */
  signal: AbortSignal;
  controlPlane: ControlPlaneAccess;
  /**
   * The environment of one component (DESIGN §4), given the control plane's endpoint as that
   * component reaches it, and the metadata of its image (which names its `config` variables)
   * when flowctl pulled one. Called once per component per run.
   */
  envFor(
    component: Component,
    controlPlaneEndpoint: string,
    metadata?: ConfigEnvMetadata,
  ): Record<string, string>;
  /**
   * An earlier run of the same pipeline run (`run --watch` reloads) whose network and control
   * plane addresses this one joins instead of making its own.
   */
  joins?: OrchestratorRun;
  /** Event types that never meet (also through component metadata) fail the run, not warn. */
  strictEventTypes?: boolean;
  /** Told about images pulled and engines waited for. */
  onNotice?(message: string): void;
  /** Progress lines of an image pull (shown on a terminal). */
  onPullProgress?(component: string, line: string): void;
}

/**
 * Where flowctl's host reaches the ports of a component's swarm task (for the data path, which
 * dials them from this host).
 */
export interface PortReach {
  /** Where any port of it is dialled: a task on flowctl's own machine, at its bridge address. */
  host?: string | undefined;
  /** "host:port" by container port: the ports its node publishes, at the node's address. */
  published: Record<string, string>;
  /** Where it runs, for messages: `node "worker-1" (10.0.0.2)`. */
  where: string;
}

/** A run opened by an orchestrator: everything prepared, components started on request. */
export interface OrchestratorRun extends AsyncDisposable {
  /** Addresses the control plane listens on for this run. */
  readonly controlPlaneHosts: readonly string[];
  /** The run's own network (container mode), for the state file. */
  readonly networkId?: string | undefined;
  /**
   * Which component a control plane caller is, when the orchestrator tells that itself (swarm
   * tasks on other nodes, which call from their node's address): a component id, a refusal
   * saying why the caller's claim does not fit, or undefined for no component.
   */
  identifyPeer?(peer: PeerAddress, claim?: PeerClaim): Promise<string | PeerRefusal | undefined>;
  /** Where flowctl's host reaches the ports of a component's current task (swarm mode). */
  reach?(componentId: string): PortReach | undefined;
  /**
   * Starts a component of the pipeline (again, after it exited).
   * @throws {ComponentFailedError} when it cannot be started.
   */
  start(componentId: string): Promise<ComponentHandle>;
  /**
   * Replaces a running component's definition in place (swarm: a service update), so that the
   * next start() follows what runs with the new one; stopping the old handle then keeps it.
   * Absent where a changed component is restarted through a new run instead.
   * @throws {ComponentFailedError} when the update is refused (nothing changed).
   */
  update?(component: Component): Promise<void>;
  /** The environment each component was given in this run (for `flowctl exec`). */
  readonly envs: RunEnvs;
  /**
   * Runs `command` beside a started component, its output discarded: with the component's env
   * and working dir (process mode) or inside the handle's container (Engine exec). Resolves to
   * the exit code.
   * @throws when the command cannot be started at all.
   */
  exec(
    handle: ComponentHandle,
    command: readonly string[],
    options: { signal: AbortSignal },
  ): Promise<number>;
}

export interface CheckOptions {
  signal: AbortSignal;
  /**
   * Whether busy host ports are problems (default true). `validate` leaves them out: they say
   * what the machine runs right now (the pipeline itself, maybe), not what the file asks for.
   */
  hostPorts?: boolean;
}

export interface Orchestrator {
  readonly kind: OrchestratorKind;
  /**
   * Checks, without side effects, that every component can start: commands or images exist,
   * host ports are free, the engine answers.
   * @throws {PreflightError} listing every problem.
   */
  check(pipeline: Pipeline, options: CheckOptions): Promise<void>;
  /**
   * Prepares a run (pulls, network, containers) and returns it ready to start components.
   * @throws {PreflightError} when preparing fails; what was made is removed first.
   */
  open(pipeline: Pipeline, options: OpenOptions): Promise<OrchestratorRun>;
}

/** Problems found before starting anything; the message lists them all. */
export class PreflightError extends UserError {
  override name = "PreflightError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options?: ErrorOptions & { exitCode?: 1 | 2 }) {
    super(
      problems.length === 1
        ? `Cannot start pipeline: ${problems[0]}`
        : `Cannot start pipeline:\n  ${problems.join("\n  ")}`,
      options,
    );
    this.problems = problems;
  }
}

/** A component could not start, exited, or failed its health check. */
export class ComponentFailedError extends UserError {
  override name = "ComponentFailedError";
  readonly component: string;
  readonly exit?: ExitStatus;
  /** Last lines of the component's log, when there are any. */
  logTail: string[] = [];
  constructor(component: string, message: string, options?: ErrorOptions & { exit?: ExitStatus }) {
    super(message, options);
    this.component = component;
    if (options?.exit) this.exit = options.exit;
  }
}

/** A component did not become healthy within its start period. */
export class HealthTimeoutError extends ComponentFailedError {
  override name = "HealthTimeoutError";
}

/** Describes an exit for messages: `exited with code 3`, `was killed by SIGKILL`. */
export function describeExit(exit: ExitStatus): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
