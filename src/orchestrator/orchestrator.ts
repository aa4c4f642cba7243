/** The interface both orchestrators (processes, containers) implement. */
import type { Component, OrchestratorKind, Pipeline } from "../config/mod.ts";

/** How a component ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number;
  signal: string | null;
}

/** What the runner needs to start one component. */
export interface StartOptions {
  /** The full environment of DESIGN §4 merged with the component's own (the component wins). */
  env: Record<string, string>;
}

/** A started component. `stop()` is idempotent; disposing stops it at once. */
export interface ComponentHandle extends AsyncDisposable {
  readonly componentId: string;
  /** Process id (process mode) or container id (container mode), for status and state. */
  readonly pid?: number;
  /** Start time of `pid` (clock ticks since boot), so a reused pid is never mistaken for it. */
  readonly pidStartTime?: number;
  readonly containerId?: string;
  /** stdout and stderr bytes; each stream ends when the component ends. */
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Settles when the component has exited (its whole process group, in process mode). */
  readonly exited: Promise<ExitStatus>;
  /** Where flowctl reaches a port of the component from the host, for health probes. */
  probeAddress(port: number): { hostname: string; port: number };
  /**
   * Stops the component: SIGTERM (or the engine's stop), `graceMs`, then SIGKILL. Aborting
   * `force` skips the rest of the grace period.
   */
  stop(options: { graceMs: number; force?: AbortSignal }): Promise<ExitStatus>;
}

export interface Orchestrator extends AsyncDisposable {
  readonly kind: OrchestratorKind;
  /** Host name that components use to reach the control plane on this host. */
  readonly controlPlaneHost: string;
  /** Host address the control plane must listen on so components can reach it. */
  controlPlaneListenHosts(): string[];
  /** The run's own network (container mode), for the state file. */
  readonly networkId?: string | undefined;
  /**
   * Checks, before anything starts, that every component can start: commands or images exist,
   * host ports are free, the engine answers.
   * @throws {PreflightError} listing every problem.
   */
  preflight(pipeline: Pipeline, options: { signal: AbortSignal }): Promise<void>;
  /**
   * Optional: readies every component before the first starts (containers are created in
   * parallel, so only starting them is on the path of dependency order).
   */
  prepare?(plan: readonly { component: Component; options: StartOptions }[]): Promise<void>;
  /** Starts one component. @throws {ComponentFailedError} when it cannot be started. */
  start(component: Component, options: StartOptions): Promise<ComponentHandle>;
}

/** Problems found before starting anything; the message lists them all. */
export class PreflightError extends Error {
  override name = "PreflightError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options?: ErrorOptions) {
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
export class ComponentFailedError extends Error {
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
