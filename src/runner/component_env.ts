/** The environment every component gets (DESIGN §4). */
import type { Component, Pipeline } from "../config/mod.ts";

export interface ComponentEnvOptions {
  /** host:port of the control plane as the component reaches it. */
  controlPlaneEndpoint: string;
  heartbeatInterval: string;
  runId: string;
  /** flowctl's own environment, inherited in process mode only. */
  hostEnv?: Record<string, string>;
}

/** Builds a component's environment: host env (process mode), injected values, then its own `env`. */
export function componentEnv(
  pipeline: Pipeline,
  component: Component,
  options: ComponentEnvOptions,
): Record<string, string> {
  return {
    ...(pipeline.orchestrator === "process" ? options.hostEnv ?? {} : {}),
    ENABLE_FLOWCTL: "true",
    FLOWCTL_ENDPOINT: options.controlPlaneEndpoint,
    FLOWCTL_HEARTBEAT_INTERVAL: options.heartbeatInterval,
    COMPONENT_ID: component.id,
    FLOWCTL_COMPONENT_ID: component.id,
    FLOWCTL_SERVICE_ID: component.id,
    FLOWCTL_PIPELINE: pipeline.name,
    FLOWCTL_RUN_ID: options.runId,
    ...component.env,
  };
}
