/** Events of a run, and the state of its components; the CLI renders events as text or JSON. */
import type { RegistryLifecycleEvent } from "../controlplane/registry_report.ts";
import type { ExitStatus } from "../orchestrator/orchestrator.ts";

export type RunnerEvent =
  | {
    type: "pipeline_starting";
    pipeline: string;
    orchestrator: string;
    runId: string;
    components: number;
    /** host:port of the embedded control plane. */
    controlPlane: string;
  }
  | { type: "component_starting"; component: string; attempt: number }
  | {
    type: "component_started";
    component: string;
    pid?: number;
    containerId?: string;
    taskId?: string;
  }
  | {
    type: "component_waiting";
    component: string;
    waitedMs: number;
    /** Why the last probe failed, if one did. */
    lastProbe?: string;
  }
  | {
    type: "component_healthy";
    component: string;
    afterMs: number;
    checked: boolean;
    recovered?: boolean;
  }
  | { type: "component_unhealthy"; component: string; reason: string }
  | { type: "component_exited"; component: string; exit: ExitStatus }
  | {
    type: "component_restarting";
    component: string;
    restart: number;
    delayMs: number;
    /** Asked for with `flowctl restart`: no backoff, not counted against max_restarts. */
    requested?: boolean;
    /** Why a restart that no failure caused happens, when not `flowctl restart`. */
    because?: string;
  }
  /** Liveness: the component failed `failures` probes in a row and is being stopped. */
  | { type: "component_liveness_failed"; component: string; failures: number; restart: boolean }
  | { type: "component_stopping"; component: string }
  | { type: "component_stopped"; component: string; exit: ExitStatus; graceMs: number }
  /** Registrations and heartbeats seen by the control plane. */
  | RegistryLifecycleEvent
  | { type: "pipeline_started"; afterMs: number }
  | {
    type: "pipeline_stopping";
    reason: "signal" | "failure" | "completed";
    /** What finished, for "completed": the sinks, or every component of a pipeline without. */
    finished?: "sinks" | "components";
  }
  /** `forced`: a second signal skipped the grace periods. */
  | { type: "pipeline_stopped"; forced?: boolean }
  | { type: "pipeline_completed" }
  | {
    type: "pipeline_failed";
    component: string;
    reason: string;
    logFile?: string;
    logTail: string[];
  }
  | { type: "shutdown_requested"; signal: string }
  | { type: "shutdown_forced" }
  /** Something the user should know that is not a component's state: leftovers, pulls. */
  | { type: "notice"; message: string }
  /** The data path decided how an edge's events move (src/datapath). */
  | { type: "edge_decided"; from: string; to: string; mode: "driven" | "direct"; reason: string }
  /** Throughput of an edge the data path drives, about once a second. */
  | {
    type: "edge_stats";
    from: string;
    to: string;
    mode: "driven" | "direct";
    events: number;
    bytes: number;
    eventsPerSecond: number;
    bytesPerSecond: number;
    /** Events not sent because the sink does not accept their type (its input_event_types). */
    filtered?: number;
  };

/** What `flowctl status` shows of one data edge (`inputs`): how its events move, and rates. */
export interface EdgeSnapshot {
  from: string;
  to: string;
  /** `at-run`: not decided yet (decided once both ends registered). */
  mode: "driven" | "direct" | "at-run";
  reason: string;
  events?: number | undefined;
  bytes?: number | undefined;
  eventsPerSecond?: number | undefined;
  bytesPerSecond?: number | undefined;
  /** Events dropped while the consumer was down with a full buffer. */
  dropped?: number | undefined;
  /** Events not sent because the sink does not accept their type (its input_event_types). */
  filtered?: number | undefined;
}

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
  /** The container's address on the run's network. */
  address?: string;
  /** With `replicas: N` (N > 1): each instance's process or container, replica 1 first. */
  replicas?: ReplicaSnapshot[];
  restarts: number;
  startedAt?: number;
  lastExit?: ExitStatus;
  logFile?: string;
}

/** One instance of a component with `replicas: N`. */
export interface ReplicaSnapshot {
  pid?: number;
  pidStartTime?: number;
  containerId?: string;
}
