/**
 * What a running session shows and offers to an observer in the same process (the dashboard):
 * read-only views of the pipeline, its components and registrations, and the same control
 * operations as `flowctl restart|stop|start`.
 */
import type { Pipeline } from "../config/mod.ts";
import type { ComponentSnapshot } from "./events.ts";
import type { ControlAction, ControlResult } from "./pipeline_runner.ts";

/** A registration with the control plane, as far as an observer needs it. */
export interface RegistrationView {
  componentId: string;
  registeredAt: number;
  lastHeartbeat: number;
  /** The health the component last reported. */
  status: string;
  stale: boolean;
  /** The metrics of its last heartbeat. */
  metrics: Readonly<Record<string, string>>;
}

export interface RunView {
  readonly runId: string;
  readonly logDir: string;
  /** The pipeline as it runs now (`run --watch` may replace it). */
  pipeline(): Pipeline;
  /** Every component's state, in start order. */
  snapshot(): ComponentSnapshot[];
  /** Registrations matched to pipeline components. */
  registrations(): RegistrationView[];
  /** Restarts, stops or starts components, as `flowctl restart|stop|start` do. */
  control(
    action: ControlAction,
    ids: readonly string[],
    options: { withDependents: boolean },
  ): Promise<ControlResult[]>;
}
