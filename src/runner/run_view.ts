/**
 * What a running session shows and offers to an observer in the same process (the dashboard):
 * read-only views of the pipeline, its components and registrations, and the same control
 * operations as `flowctl restart|stop|start`.
 */
import type { Pipeline } from "../config/mod.ts";
import type { Registry } from "../controlplane/registry.ts";
import type { ComponentSnapshot } from "./events.ts";
import type { ControlAction, ControlResult } from "./control_order.ts";
import type { PipelineRunner } from "./pipeline_runner.ts";

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

/** What a session tells the dashboard: its view once the runner exists; asked for its URL. */
export interface RunObserver {
  attach(view: RunView): void;
  /** `flowctl ui` over the admin socket: the dashboard's URL, started on demand. */
  url(): Promise<string>;
}

/**
 * The view of a session's runner and registrations; `controlled` runs after each control request
 * (the session flushes its state file: `flowctl status` right after the answer sees the change).
 */
export function runView(
  runner: PipelineRunner,
  registry: Registry,
  options: { runId: string; controlled(): Promise<void> },
): RunView {
  return {
    runId: options.runId,
    pipeline: () => runner.pipeline,
    snapshot: () => runner.snapshot(),
    registrations: () =>
      registry.list().flatMap((r) =>
        r.componentId === undefined ? [] : [{
          componentId: r.componentId,
          registeredAt: r.registeredAt,
          lastHeartbeat: r.lastHeartbeat,
          status: r.status,
          stale: r.stale,
          metrics: r.metrics,
        }]
      ),
    control: async (action, ids, control) => {
      const results = await runner.control(action, ids, control);
      await options.controlled();
      return results;
    },
  };
}
