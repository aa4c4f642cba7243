/** The environment every component gets (DESIGN §4). */
import { configEnv } from "../config/config_env.ts";
import type { Component, Pipeline } from "../config/mod.ts";

export interface ComponentEnvOptions {
  /** host:port of the control plane as the component reaches it. */
  controlPlaneEndpoint: string;
  heartbeatInterval: string;
  runId: string;
  /** flowctl's own environment, inherited in process mode only. */
  hostEnv?: Record<string, string>;
}

/** A component's metadata (from its image) that names the variables of its `config`. */
export interface ComponentEnvMetadata {
  envMapping?: Readonly<Record<string, string>>;
  configSchema?: Readonly<Record<string, { env?: string }>>;
}

/**
 * Builds a component's environment: host env (process mode), injected values, its `config`
 * (named through `metadata`), then its own `env`.
 */
export function componentEnv(
  pipeline: Pipeline,
  component: Component,
  options: ComponentEnvOptions,
  metadata?: ComponentEnvMetadata,
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
    ...configEnv(component.config, metadata),
    ...component.env,
  };
}
