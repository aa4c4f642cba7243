/** The environment every component gets (DESIGN §4). */
import type { Component, Pipeline } from "../config/mod.ts";
import { configEnv, type ConfigEnvMetadata } from "../config/config_env.ts";
import { modeOf, secretPath } from "../orchestrator/select.ts";

export interface ComponentEnvOptions {
  /** host:port of the control plane as the component reaches it. */
  controlPlaneEndpoint: string;
  heartbeatInterval: string;
  /** The same interval in milliseconds (FLOWCTL_HEARTBEAT_INTERVAL_MS, as the Go flowctl). */
  heartbeatIntervalMs?: number;
  runId: string;
  /** flowctl's own environment, inherited in process mode only. */
  hostEnv?: Record<string, string>;
  /** The component's metadata (registry components): how its `config` keys are named. */
  metadata?: ConfigEnvMetadata;
}

/**
 * Builds a component's environment, later entries winning: host env (process mode), injected
 * values, `config` as variables, secret paths (`secrets[].env`), then its own `env`.
 */
export function componentEnv(
  pipeline: Pipeline,
  component: Component,
  options: ComponentEnvOptions,
): Record<string, string> {
  const secretPaths: Record<string, string> = {};
  for (const secret of component.secrets) {
    const path = secretPath(pipeline.orchestrator, secret);
    if (secret.env !== undefined && path !== undefined) secretPaths[secret.env] = path;
  }
  return {
    ...(modeOf(pipeline.orchestrator).runsOnHost ? options.hostEnv ?? {} : {}),
    ENABLE_FLOWCTL: "true",
    FLOWCTL_ENDPOINT: options.controlPlaneEndpoint,
    FLOWCTL_HEARTBEAT_INTERVAL: options.heartbeatInterval,
    ...(options.heartbeatIntervalMs !== undefined
      ? { FLOWCTL_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs) }
      : {}),
    COMPONENT_ID: component.id,
    FLOWCTL_COMPONENT_ID: component.id,
    FLOWCTL_SERVICE_ID: component.id,
    FLOWCTL_PIPELINE: pipeline.name,
    FLOWCTL_RUN_ID: options.runId,
    ...configEnv(component.config, options.metadata),
    ...secretPaths,
    ...component.env,
  };
}
