/** Events the runner reports; the CLI renders them as text lines or JSON. */
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
  | { type: "component_started"; component: string; pid?: number; containerId?: string }
  | {
    type: "component_healthy";
    component: string;
    afterMs: number;
    checked: boolean;
    recovered?: boolean;
  }
  | { type: "component_unhealthy"; component: string; reason: string }
  | { type: "component_exited"; component: string; exit: ExitStatus }
  | { type: "component_restarting"; component: string; restart: number; delayMs: number }
  | { type: "component_stopping"; component: string }
  | { type: "component_stopped"; component: string; exit: ExitStatus }
  | { type: "component_registered"; component: string; via: string }
  | { type: "component_stale"; component: string; lastHeartbeatMs: number }
  | { type: "component_heartbeat_resumed"; component: string }
  | { type: "pipeline_started"; afterMs: number }
  | { type: "pipeline_stopping"; reason: "signal" | "failure" | "completed" }
  | { type: "pipeline_stopped" }
  | { type: "pipeline_completed" }
  | {
    type: "pipeline_failed";
    component: string;
    reason: string;
    logFile?: string;
    logTail: string[];
  };
